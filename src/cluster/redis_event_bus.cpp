#include "cluster/redis_event_bus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "core/random.hpp"

namespace hype::cluster {

namespace asio = boost::asio;

namespace {

// KEYS: 1 the channel. ARGV: the records, published in order.
constexpr const char* kPublishBatch = R"LUA(
for i = 1, #ARGV do redis.call('PUBLISH', KEYS[1], ARGV[i]) end
return #ARGV
)LUA";

// KEYS: 1 the stream. ARGV: 1 the MAXLEN ~ cap, then the records, added in order. A stream
// that does not exist yet (a new cluster, or Redis restarted without its data) first gets a
// genesis entry (field "g", no record): cursors from before it cannot be replayed, since
// replay needs them at or after the first entry kept (history_complete_after).
constexpr const char* kAddBatch = R"LUA(
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'g', '1')
end
for i = 2, #ARGV do redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'r', ARGV[i]) end
return #ARGV - 1
)LUA";

constexpr std::string_view kMagic = "HB\x01";

// One record as it travels (the top of redis_event_bus.hpp).
struct Record {
  std::string origin;
  std::uint64_t incarnation = 0;
  std::uint64_t seq = 0;
  Event event;
};

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

std::string encode(const std::string& origin, std::uint64_t incarnation, std::uint64_t seq,
                   const Event& e) {
  std::string out;
  out.reserve(64 + origin.size() + e.data.size() + 10 * e.user_ids.size());
  out.append(kMagic);
  put_bytes(out, origin);
  put_varint(out, incarnation);
  put_varint(out, seq);
  put_bytes(out, event_type_name(e.type));
  put_varint(out, static_cast<std::uint64_t>(e.guild_id));
  put_varint(out, e.required_permissions);
  put_varint(out, static_cast<std::uint64_t>(e.subject_user_id));
  put_varint(out, static_cast<std::uint64_t>(e.channel_id));
  put_varint(out, e.subject_permissions);
  put_varint(out, e.user_ids.size());
  for (Id u : e.user_ids) put_varint(out, static_cast<std::uint64_t>(u));
  put_bytes(out, e.data);
  return out;
}

// Reads what encode wrote; every read is bounds checked, nothing may follow the data.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      auto b = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;  // more than 10 bytes
  }
  bool id(Id& v) {
    std::uint64_t u = 0;
    if (!varint(u)) return false;
    v = static_cast<Id>(u);
    return true;
  }
  bool bytes(std::string& s) {
    std::uint64_t n = 0;
    if (!varint(n) || n > in_.size() - pos_) return false;
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool literal(std::string_view s) {
    if (in_.substr(pos_, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }
  std::size_t left() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

std::optional<Record> decode(std::string_view in) {
  Reader r(in);
  Record rec;
  Event& e = rec.event;
  std::string type;
  std::uint64_t users = 0;
  if (!r.literal(kMagic) || !r.bytes(rec.origin) || !r.varint(rec.incarnation) ||
      !r.varint(rec.seq) || !r.bytes(type) || !r.id(e.guild_id) ||
      !r.varint(e.required_permissions) || !r.id(e.subject_user_id) || !r.id(e.channel_id) ||
      !r.varint(e.subject_permissions) || !r.varint(users) || users > r.left())
    return std::nullopt;
  auto t = parse_event_type(type);
  if (!t) return std::nullopt;
  e.type = *t;
  e.user_ids.resize(users);
  for (Id& u : e.user_ids)
    if (!r.id(u)) return std::nullopt;
  if (!r.bytes(e.data) || r.left() != 0) return std::nullopt;
  return rec;
}

// Everything the bus, its sender coroutine and its subscription handler share: the handler
// stays registered in the subscriber client after the bus is gone, the sender may still be
// awaiting a reply.
struct Shared {
  Shared(RedisClient& p, RedisClient& sub, std::string id, RedisEventBusOptions o)
      : publisher(p),
        subscriber(sub),
        node_id(std::move(id)),
        incarnation(random_u64()),
        opts(std::move(o)),
        retry_timer(sub.executor()),
        send_timer(p.executor()) {}

  bool stream_mode() const { return !opts.stream.empty(); }

  RedisClient& publisher;
  RedisClient& subscriber;
  const std::string node_id;
  const std::uint64_t incarnation;
  const RedisEventBusOptions opts;

  std::mutex handlers_mu;
  std::map<int, EventBus::Handler> handlers;
  int next_handler = 0;

  std::mutex queue_mu;
  std::deque<std::string> queue;    // encoded records waiting for the sender
  bool sending = false;             // a sender coroutine is running
  std::atomic<bool> closed{false};  // the bus is gone: send and deliver nothing more
  std::uint64_t next_seq = 0;

  // Per origin (subscriber strand only): the incarnation and last sequence number seen.
  struct Origin {
    std::uint64_t incarnation = 0;
    std::uint64_t last_seq = 0;
  };
  std::unordered_map<std::string, Origin> origins;

  std::atomic<std::uint64_t> published{0}, publish_failed{0}, publish_retried{0}, received{0},
      own_skipped{0}, undecodable{0}, gaps{0}, read_failed{0}, duplicates{0};
  RateLimitedLog bad_log{1}, fail_log{1}, gap_log{1}, read_log{1}, replay_log{1};

  // Stream mode (the reader coroutine, on the subscriber's strand): the last entry read, and
  // the same for other threads (position()).
  std::string last_id;  // empty until the reader learned where the stream ends
  mutable std::mutex position_mu;
  std::string position;
  asio::steady_timer retry_timer;  // the reader's pause after a failed XREAD
  asio::steady_timer send_timer;   // stream mode: the sender's pause before sending again

  void set_position(const std::string& id) {
    std::lock_guard lock(position_mu);
    position = id;
  }

  void deliver(const Event& e) {
    std::map<int, EventBus::Handler> copy;
    {
      std::lock_guard lock(handlers_mu);
      copy = handlers;
    }
    for (auto& [id, h] : copy) h(e);
  }

  void on_message(const std::string& payload) { on_record(payload, {}); }

  // One record from the channel or (with its entry id as `cursor`) from the stream.
  void on_record(const std::string& payload, const std::string& cursor) {
    if (closed) return;
    auto rec = decode(payload);
    if (!rec) {
      ++undecodable;
      if (bad_log.allow())
        spdlog::warn("event bus {}: dropped a record of {} bytes that does not decode ({} so far)",
                     opts.channel, payload.size(), undecodable.load());
      return;
    }
    // Pub/sub: this node's own events were delivered at publish. Stream: every event comes
    // from the stream, own ones included, so all nodes deliver in one order.
    if (!stream_mode() && rec->origin == node_id && rec->incarnation == incarnation) {
      ++own_skipped;
      return;
    }
    Origin& o = origins[rec->origin];
    if (stream_mode() && o.incarnation == rec->incarnation && rec->seq <= o.last_seq) {
      // Sent again after a reply that never came although Redis had added it: once is enough.
      ++duplicates;
      return;
    }
    if (o.incarnation != rec->incarnation) {
      // First event of this origin (or it restarted): nothing known to be missing.
      o.incarnation = rec->incarnation;
      o.last_seq = rec->seq;
    } else if (rec->seq > o.last_seq) {
      std::uint64_t missed = rec->seq - o.last_seq - 1;
      if (missed > 0) {
        gaps += missed;
        if (gap_log.allow())
          spdlog::warn("event bus {}: missed {} events of node {}", opts.channel, missed,
                       rec->origin);
      }
      o.last_seq = rec->seq;
    }
    ++received;
    rec->event.cursor = cursor;
    deliver(rec->event);
  }
};

// A command's reply, or nullopt (logged by the caller) when it failed or answered an error.
// The try block lives here alone (GCC 12 coroutine pitfalls: nothing after it in the caller).
asio::awaitable<std::optional<RedisReply>> try_command(asio::awaitable<RedisReply> op,
                                                       std::string* error) {
  try {
    RedisReply r = co_await std::move(op);
    if (!r.is_error()) co_return r;
    *error = r.str;
  } catch (const std::exception& e) {
    *error = e.what();
  }
  co_return std::nullopt;
}

// Sends `args` on `client` unless the bus is closed (then nullopt at once): made under the
// queue lock so that no command reaches a client the owner destroys right after the bus.
std::optional<asio::awaitable<RedisReply>> command_if_open(Shared& s, RedisClient& client,
                                                           std::vector<std::string> args) {
  std::lock_guard lock(s.queue_mu);
  if (s.closed) return std::nullopt;
  return client.command(std::move(args));
}

// A stream entry [id, [field, value, ...]]'s record (field "r"); null for the genesis entry
// (kAddBatch) or a malformed entry.
const std::string* record_of(const RedisReply& entry) {
  if (entry.elements.size() < 2) return nullptr;
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    if (fields[i].str == "r") return &fields[i + 1].str;
  return nullptr;
}

// XREAD's reply: [[stream, [[id, [field, value, ...]], ...]]]; delivers each entry's "r".
void on_read_reply(Shared& s, const RedisReply& r) {
  for (const RedisReply& stream : r.elements) {
    if (stream.elements.size() < 2) continue;
    for (const RedisReply& entry : stream.elements[1].elements) {
      if (entry.elements.size() < 2) continue;
      const std::string& id = entry.elements[0].str;
      const std::string* payload = record_of(entry);
      s.last_id = id;
      s.set_position(id);
      if (payload) s.on_record(*payload, id);  // none: the genesis entry (kAddBatch)
    }
  }
}

// Stream mode: the one reader of a bus, on the subscriber client. First learns where the
// stream ends (events before are history, for replay), then XREAD BLOCKs from the last entry
// read, for ever; after a failure it waits a little and reads on from the same entry, so a
// short outage loses nothing that is still in the stream.
asio::awaitable<void> read_stream(std::shared_ptr<Shared> s) {
  for (;;) {
    bool connected = false;
    {
      // Under the lock, as command_if_open: a closed bus's client may be gone already.
      std::lock_guard lock(s->queue_mu);
      if (s->closed) co_return;
      connected = s->subscriber.connected();
    }
    if (!connected) {
      // Not yet connected, or reconnecting: wait for the client rather than count each try as
      // a failed read (the client logs its own outage).
      s->retry_timer.expires_after(std::chrono::milliseconds(50));
      boost::system::error_code wait_ec;
      co_await s->retry_timer.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
      continue;
    }
    std::vector<std::string> args;
    bool learning_end = s->last_id.empty();
    if (learning_end) {
      args = {"XREVRANGE", s->opts.stream, "+", "-", "COUNT", "1"};
    } else {
      args = {"XREAD",
              "COUNT",
              std::to_string(std::max<std::size_t>(s->opts.read_count, 1)),
              "BLOCK",
              std::to_string(s->opts.read_block_ms),
              "STREAMS",
              s->opts.stream,
              s->last_id};
    }
    auto op = command_if_open(*s, s->subscriber, std::move(args));
    if (!op) co_return;
    std::string error;
    std::optional<RedisReply> reply = co_await try_command(std::move(*op), &error);
    if (s->closed) co_return;
    if (!reply) {
      ++s->read_failed;
      if (s->read_log.allow())
        spdlog::warn("event bus {}: reading the stream failed: {}", s->opts.stream, error);
      s->retry_timer.expires_after(std::chrono::milliseconds(100));
      boost::system::error_code ec;
      co_await s->retry_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (learning_end) {
      bool empty = reply->elements.empty() || reply->elements[0].elements.empty();
      s->last_id = empty ? "0-0" : reply->elements[0].elements[0].str;
      s->set_position(s->last_id);
      continue;
    }
    on_read_reply(*s, *reply);  // nil (timed out) has no elements
  }
}

// XINFO STREAM's flat [name, value, ...] reply -> the value named `name` (nullptr if none).
const RedisReply* info_field(const RedisReply& info, std::string_view name) {
  for (std::size_t i = 0; i + 1 < info.elements.size(); i += 2)
    if (info.elements[i].str == name) return &info.elements[i + 1];
  return nullptr;
}

// Whether every entry after `after` is still in the stream (XINFO STREAM, Redis 7): `after`
// not newer than the last id ever added, nothing deleted after it, and at or past the first
// entry kept. Entries between an older cursor and the first kept one were trimmed, or belong
// to a stream that is gone: Redis restarted without its data, and the stream started again
// with a genesis entry (kAddBatch) newer than every cursor of the old one.
bool history_complete_after(const RedisReply& info, const std::string& after) {
  const RedisReply* last = info_field(info, "last-generated-id");
  const RedisReply* deleted = info_field(info, "max-deleted-entry-id");
  const RedisReply* first = info_field(info, "first-entry");
  if (!last || !deleted || !first || first->elements.empty()) return false;
  auto vs_last = compare_cursors(after, last->str);
  auto vs_deleted = compare_cursors(after, deleted->str);
  auto vs_first = compare_cursors(after, first->elements[0].str);
  return vs_last && *vs_last <= 0 && vs_deleted && *vs_deleted >= 0 && vs_first && *vs_first >= 0;
}

// Appends XRANGE's entries to `out` (each with its cursor); false if the reply is malformed.
// `last_seq` (per origin and incarnation) drops what a sender added twice, as the live reader
// does.
bool append_range(Shared& s, const RedisReply& r, std::vector<Event>& out,
                  std::map<std::pair<std::string, std::uint64_t>, std::uint64_t>& last_seq) {
  for (const RedisReply& entry : r.elements) {
    if (entry.elements.size() < 2) return false;
    const std::string* payload = record_of(entry);
    if (!payload) continue;  // the genesis entry
    std::optional<Record> rec = decode(*payload);
    if (!rec) {
      ++s.undecodable;
      continue;  // dropped live too: skipping it loses nothing a live reader saw
    }
    auto [it, first] = last_seq.try_emplace({rec->origin, rec->incarnation}, rec->seq);
    if (!first) {
      if (rec->seq <= it->second) continue;
      it->second = rec->seq;
    }
    rec->event.cursor = entry.elements[0].str;
    out.push_back(std::move(rec->event));
  }
  return true;
}

// EventBus::replay on the publisher client: checks the history reaches back to `after`, then
// pages through XRANGE (after, until].
asio::awaitable<void> run_replay(std::shared_ptr<Shared> s, std::string after, std::string until,
                                 EventBus::ReplayDone done) {
  auto order = compare_cursors(after, until);
  if (!order) {
    done(std::nullopt);
    co_return;
  }
  if (*order == 0) {
    // The client stands where this node stands: nothing to replay, nothing to ask Redis (an
    // identify keeps working while Redis is down, or before the stream exists).
    done(std::vector<Event>{});
    co_return;
  }
  std::vector<std::string> info_args{"XINFO", "STREAM", s->opts.stream};
  auto info_op = command_if_open(*s, s->publisher, std::move(info_args));
  if (!info_op) {
    done(std::nullopt);  // the bus is closing
    co_return;
  }
  std::string error;
  std::optional<RedisReply> info = co_await try_command(std::move(*info_op), &error);
  if (!info || !history_complete_after(*info, after)) {
    if (!info && s->replay_log.allow())
      spdlog::warn("event bus {}: replay failed: {}", s->opts.stream, error);
    done(std::nullopt);
    co_return;
  }
  std::vector<Event> events;
  std::map<std::pair<std::string, std::uint64_t>, std::uint64_t> last_seq;
  std::string from = after;
  while (*order < 0) {
    std::vector<std::string> args{
        "XRANGE", s->opts.stream, "(" + from,
        until,    "COUNT",        std::to_string(std::max<std::size_t>(s->opts.replay_page, 1))};
    auto op = command_if_open(*s, s->publisher, std::move(args));
    if (!op) {
      done(std::nullopt);
      co_return;
    }
    std::optional<RedisReply> page = co_await try_command(std::move(*op), &error);
    if (!page) {
      if (s->replay_log.allow())
        spdlog::warn("event bus {}: replay failed: {}", s->opts.stream, error);
      done(std::nullopt);
      co_return;
    }
    if (page->elements.empty()) break;
    if (!append_range(*s, *page, events, last_seq)) {
      done(std::nullopt);
      co_return;
    }
    from = page->elements.back().elements[0].str;
    order = compare_cursors(from, until);
    if (!order) break;
  }
  done(std::move(events));
}

// The one sender of a bus: sends what is queued, a batch at a time and in order, until the
// queue is empty; publish starts it again when needed. Pub/sub mode sends each batch once
// (fire and forget). Stream mode keeps a batch at the head of the queue until Redis has added
// it, trying again after a pause that grows to 2 s: events published while Redis is down or
// restarting wait here (up to max_queue) and reach every node, this one included, once it is
// back. A batch Redis added although its reply was lost comes twice; readers drop the second.
asio::awaitable<void> send_queued(std::shared_ptr<Shared> s) {
  int failures = 0;
  for (;;) {
    std::size_t n = 0;
    std::optional<asio::awaitable<RedisReply>> op;
    {
      std::lock_guard lock(s->queue_mu);
      if (s->closed || s->queue.empty()) {
        s->sending = false;
        co_return;
      }
      std::vector<std::string> args;
      if (s->stream_mode()) {
        args = {"EVAL", kAddBatch, "1", s->opts.stream, std::to_string(s->opts.stream_max_len)};
      } else if (s->queue.size() == 1) {
        args.emplace_back("PUBLISH");
        args.push_back(s->opts.channel);
      } else {
        args.emplace_back("EVAL");
        args.emplace_back(kPublishBatch);
        args.emplace_back("1");
        args.push_back(s->opts.channel);
      }
      n = std::min(s->queue.size(), std::max<std::size_t>(s->opts.max_batch, 1));
      if (s->stream_mode()) {
        args.insert(args.end(), s->queue.begin(), s->queue.begin() + static_cast<long>(n));
      } else {
        for (std::size_t i = 0; i < n; ++i) {
          args.push_back(std::move(s->queue.front()));
          s->queue.pop_front();
        }
      }
      // Made under the lock: once the bus is closed no command reaches the client (which the
      // bus's owner may destroy right after the bus).
      op.emplace(s->publisher.command(std::move(args)));
    }
    std::string error;
    try {
      RedisReply r = co_await std::move(*op);
      if (r.is_error()) error = r.str;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty()) {
      s->published += n;
      failures = 0;
      if (s->stream_mode()) {
        std::lock_guard lock(s->queue_mu);
        if (!s->closed) s->queue.erase(s->queue.begin(), s->queue.begin() + static_cast<long>(n));
      }
      continue;
    }
    if (!s->stream_mode()) {
      s->publish_failed += n;
      if (s->fail_log.allow())
        spdlog::warn("event bus {}: {} events not sent to other nodes: {}", s->opts.channel, n,
                     error);
      continue;
    }
    s->publish_retried += n;
    std::size_t waiting = 0;
    {
      std::lock_guard lock(s->queue_mu);
      waiting = s->queue.size();
    }
    if (s->fail_log.allow())
      spdlog::warn("event bus {}: {} events wait for Redis, sent again shortly: {}", s->opts.stream,
                   waiting, error);
    auto pause = std::chrono::milliseconds(100) * (1 << std::min(failures++, 4));
    s->send_timer.expires_after(
        std::min<std::chrono::milliseconds>(pause, std::chrono::seconds(2)));
    boost::system::error_code ec;
    co_await s->send_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

class RedisEventBusImpl final : public RedisEventBus {
 public:
  RedisEventBusImpl(RedisClient& publisher, RedisClient& subscriber, std::string node_id,
                    RedisEventBusOptions o)
      : s_(std::make_shared<Shared>(publisher, subscriber, std::move(node_id), std::move(o))) {
    if (s_->stream_mode()) {
      asio::co_spawn(subscriber.executor(), read_stream(s_), asio::detached);
      return;
    }
    subscriber.subscribe(s_->opts.channel,
                         [s = s_](const std::string&, const std::string& p) { s->on_message(p); });
  }

  ~RedisEventBusImpl() override {
    std::lock_guard lock(s_->queue_mu);
    s_->closed = true;
    s_->publish_failed += s_->queue.size();
    s_->queue.clear();
    // The reader may be waiting out a failure: wake it so it sees `closed` (on its strand).
    asio::post(s_->subscriber.executor(), [s = s_] { s->retry_timer.cancel(); });
    asio::post(s_->publisher.executor(), [s = s_] { s->send_timer.cancel(); });
  }

  void publish(const Event& e) override {
    // Queued first: an event a handler publishes from inside deliver goes out after this one,
    // to the other nodes as here.
    bool start = false;
    {
      std::lock_guard lock(s_->queue_mu);
      std::uint64_t seq = ++s_->next_seq;
      if (s_->queue.size() >= s_->opts.max_queue) {
        ++s_->publish_failed;  // its sequence number is taken: receivers count the gap
      } else {
        s_->queue.push_back(encode(s_->node_id, s_->incarnation, seq, e));
        start = !s_->sending;
        s_->sending = true;
      }
    }
    if (start) asio::co_spawn(s_->publisher.executor(), send_queued(s_), asio::detached);
    // Stream mode: delivered here too, but from the stream, in the order all nodes share.
    if (!s_->stream_mode()) s_->deliver(e);
  }

  std::string position() const override {
    std::lock_guard lock(s_->position_mu);
    return s_->position;
  }

  bool ready() const override { return !s_->stream_mode() || !position().empty(); }

  void replay(std::string after, std::string until, ReplayDone done) override {
    if (!s_->stream_mode()) {
      done(std::nullopt);
      return;
    }
    asio::co_spawn(s_->publisher.executor(),
                   run_replay(s_, std::move(after), std::move(until), std::move(done)),
                   asio::detached);
  }

  int subscribe(Handler h) override {
    std::lock_guard lock(s_->handlers_mu);
    s_->handlers[++s_->next_handler] = std::move(h);
    return s_->next_handler;
  }

  void unsubscribe(int id) override {
    std::lock_guard lock(s_->handlers_mu);
    s_->handlers.erase(id);
  }

  RedisEventBusStats stats() const override {
    RedisEventBusStats out;
    out.published = s_->published;
    out.publish_failed = s_->publish_failed;
    out.publish_retried = s_->publish_retried;
    out.duplicates = s_->duplicates;
    out.received = s_->received;
    out.own_skipped = s_->own_skipped;
    out.undecodable = s_->undecodable;
    out.gaps = s_->gaps;
    out.read_failed = s_->read_failed;
    return out;
  }

 private:
  std::shared_ptr<Shared> s_;
};

}  // namespace

std::unique_ptr<RedisEventBus> make_redis_event_bus(RedisClient& publisher, RedisClient& subscriber,
                                                    std::string node_id,
                                                    RedisEventBusOptions options) {
  return std::make_unique<RedisEventBusImpl>(publisher, subscriber, std::move(node_id),
                                             std::move(options));
}

}  // namespace hype::cluster
