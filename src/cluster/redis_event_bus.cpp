#include "cluster/redis_event_bus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
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
  Shared(RedisClient& p, std::string id, RedisEventBusOptions o)
      : publisher(p), node_id(std::move(id)), incarnation(random_u64()), opts(std::move(o)) {}

  RedisClient& publisher;
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

  std::atomic<std::uint64_t> published{0}, publish_failed{0}, received{0}, own_skipped{0},
      undecodable{0}, gaps{0};
  RateLimitedLog bad_log{1}, fail_log{1}, gap_log{1};

  void deliver(const Event& e) {
    std::map<int, EventBus::Handler> copy;
    {
      std::lock_guard lock(handlers_mu);
      copy = handlers;
    }
    for (auto& [id, h] : copy) h(e);
  }

  void on_message(const std::string& payload) {
    if (closed) return;
    auto rec = decode(payload);
    if (!rec) {
      ++undecodable;
      if (bad_log.allow())
        spdlog::warn("event bus {}: dropped a record of {} bytes that does not decode ({} so far)",
                     opts.channel, payload.size(), undecodable.load());
      return;
    }
    if (rec->origin == node_id && rec->incarnation == incarnation) {
      ++own_skipped;
      return;
    }
    Origin& o = origins[rec->origin];
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
    deliver(rec->event);
  }
};

// The one sender of a bus: sends what is queued, a batch at a time and in order, until the
// queue is empty; publish starts it again when needed.
asio::awaitable<void> send_queued(std::shared_ptr<Shared> s) {
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
      if (s->queue.size() == 1) {
        args.emplace_back("PUBLISH");
        args.push_back(s->opts.channel);
      } else {
        args.emplace_back("EVAL");
        args.emplace_back(kPublishBatch);
        args.emplace_back("1");
        args.push_back(s->opts.channel);
      }
      while (!s->queue.empty() && n < std::max<std::size_t>(s->opts.max_batch, 1)) {
        args.push_back(std::move(s->queue.front()));
        s->queue.pop_front();
        ++n;
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
    } else {
      s->publish_failed += n;
      if (s->fail_log.allow())
        spdlog::warn("event bus {}: {} events not sent to other nodes: {}", s->opts.channel, n,
                     error);
    }
  }
}

class RedisEventBusImpl final : public RedisEventBus {
 public:
  RedisEventBusImpl(RedisClient& publisher, RedisClient& subscriber, std::string node_id,
                    RedisEventBusOptions o)
      : s_(std::make_shared<Shared>(publisher, std::move(node_id), std::move(o))) {
    subscriber.subscribe(s_->opts.channel,
                         [s = s_](const std::string&, const std::string& p) { s->on_message(p); });
  }

  ~RedisEventBusImpl() override {
    std::lock_guard lock(s_->queue_mu);
    s_->closed = true;
    s_->publish_failed += s_->queue.size();
    s_->queue.clear();
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
    s_->deliver(e);
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
    out.received = s_->received;
    out.own_skipped = s_->own_skipped;
    out.undecodable = s_->undecodable;
    out.gaps = s_->gaps;
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
