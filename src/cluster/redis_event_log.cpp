#include "cluster/redis_event_log.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

namespace hype::cluster {

namespace asio = boost::asio;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields encode(const VoiceEvent& e) {
  return {{"id", std::to_string(e.id)},
          {"type", voice_event_type_name(e.type)},
          {"guild_id", std::to_string(e.guild_id)},
          {"channel_id", std::to_string(e.channel_id)},
          {"user_id", std::to_string(e.user_id)},
          {"at", std::to_string(e.at)},
          {"duration_ms", std::to_string(e.duration_ms)},
          {"mode", e.mode},
          {"node_id", e.node_id},
          {"guild_users", std::to_string(e.guild_users)}};
}

// nullopt when a field is missing or malformed.
std::optional<VoiceEvent> decode(const RedisReply& fields) {
  if (fields.type != RedisReply::Type::array || fields.elements.size() % 2 != 0)
    return std::nullopt;
  std::map<std::string, std::string> f;
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2)
    f[fields.elements[i].str] = fields.elements[i + 1].str;
  try {
    VoiceEvent e;
    auto num = [&](const char* k) -> long long {
      const std::string& v = f.at(k);
      std::size_t pos = 0;
      long long n = std::stoll(v, &pos);
      if (pos != v.size()) throw std::invalid_argument(k);
      return n;
    };
    auto type = parse_voice_event_type(f.at("type"));
    if (!type) return std::nullopt;
    e.type = *type;
    e.id = static_cast<Id>(num("id"));
    e.guild_id = static_cast<Id>(num("guild_id"));
    e.channel_id = static_cast<Id>(num("channel_id"));
    e.user_id = static_cast<Id>(num("user_id"));
    e.at = num("at");
    e.duration_ms = num("duration_ms");
    e.mode = f.at("mode");
    e.node_id = f.at("node_id");
    e.guild_users = static_cast<int>(num("guild_users"));
    return e;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// True when the calling thread runs the client's strand or the io_context / thread_pool under
// it: a blocking call there would wait for a reply only that thread could deliver. Executors
// of other kinds are not recognised (no guard then, as before).
bool on_client_thread(const asio::any_io_executor& ex) {
  const auto* strand = ex.target<asio::strand<asio::any_io_executor>>();
  if (strand == nullptr) return false;
  if (strand->running_in_this_thread()) return true;
  const auto& inner = strand->get_inner_executor();
  if (const auto* io = inner.target<asio::io_context::executor_type>())
    return io->running_in_this_thread();
  if (const auto* pool = inner.target<asio::thread_pool::executor_type>())
    return pool->running_in_this_thread();
  return false;
}

// XAUTOCLAIM calls per read at most: each scans up to 10 * COUNT pending entries, so a long
// pending list of live consumers ahead of a dead one's entries is crossed over a few reads
// (the scan cursor is kept per group) rather than in one unbounded loop.
constexpr int kClaimRounds = 4;

class RedisEventLog final : public EventLog {
 public:
  RedisEventLog(RedisClient& client, RedisEventLogOptions opts)
      : client_(client), opts_(std::move(opts)) {
    if (opts_.consumer.empty())
      throw std::invalid_argument("redis event log: consumer name is empty");
  }

  void append(const VoiceEvent& e) override {
    std::vector<std::string> args{
        "XADD", opts_.stream, "MAXLEN", "~", std::to_string(opts_.max_len), "*"};
    for (auto& [k, v] : encode(e)) {
      args.push_back(k);
      args.push_back(v);
    }
    check(call(std::move(args)), "XADD");
  }

  std::vector<VoiceEvent> read(const std::string& group, int max) override {
    // One read at a time per object: they share the consumer's pending list, and step 1
    // below replaces what this object remembers of it.
    std::lock_guard read_lock(read_mu_);
    ensure_group(group);
    std::vector<VoiceEvent> out;
    std::map<Id, std::string> handed;  // this read's event id -> entry id
    std::vector<std::string> bad;      // entries that do not decode: acknowledged, skipped
    auto take = [&](const RedisReply& entries) {
      for (const auto& entry : entries.elements) {
        // [entry id, [field, value, ...]]; a deleted entry can come back as nil fields.
        if (entry.type != RedisReply::Type::array || entry.elements.size() != 2) continue;
        const std::string& entry_id = entry.elements[0].str;
        auto e = decode(entry.elements[1]);
        if (!e) {
          bad.push_back(entry_id);
          continue;
        }
        if (static_cast<int>(out.size()) >= max) continue;  // read again next time
        handed[e->id] = entry_id;
        out.push_back(std::move(*e));
      }
    };
    auto left = [&] { return std::to_string(std::max(1, max - static_cast<int>(out.size()))); };
    // 1. Our own pending entries. When they are fewer than asked, that is the whole list:
    // what this object remembers beyond it was acknowledged, claimed by another consumer or
    // trimmed, and is forgotten (so the map cannot grow without bound).
    auto own = stream_entries(group_call(group,
                                         {"XREADGROUP", "GROUP", group, opts_.consumer, "COUNT",
                                          left(), "STREAMS", opts_.stream, "0"},
                                         "XREADGROUP"));
    const bool whole_list = static_cast<int>(own.elements.size()) < std::max(1, max);
    take(own);
    if (whole_list) {
      std::lock_guard lock(mu_);
      handed_out_[group] = handed;
    }
    // 2. A dead consumer's entries, pending for longer than claim_idle.
    for (int round = 0; round < kClaimRounds && static_cast<int>(out.size()) < max; ++round) {
      std::string start = claim_cursor(group);
      auto claimed = group_call(group,
                                {"XAUTOCLAIM", opts_.stream, group, opts_.consumer,
                                 std::to_string(opts_.claim_idle.count()), start, "COUNT", left()},
                                "XAUTOCLAIM");
      if (claimed.type != RedisReply::Type::array || claimed.elements.size() < 2) break;
      std::string next = claimed.elements[0].str;
      take(claimed.elements[1]);
      set_claim_cursor(group, next);
      if (next == "0-0") break;  // reached the end of the pending list
    }
    // 3. New entries.
    if (static_cast<int>(out.size()) < max)
      take(stream_entries(group_call(group,
                                     {"XREADGROUP", "GROUP", group, opts_.consumer, "COUNT", left(),
                                      "STREAMS", opts_.stream, ">"},
                                     "XREADGROUP")));
    {
      std::lock_guard lock(mu_);
      auto& remembered = handed_out_[group];
      for (auto& [id, entry] : handed) remembered[id] = entry;
    }
    if (!bad.empty()) {
      spdlog::warn("voice events: {} undecodable entries in {} acknowledged and skipped",
                   bad.size(), opts_.stream);
      std::vector<std::string> args{"XACK", opts_.stream, group};
      args.insert(args.end(), bad.begin(), bad.end());
      check(call(std::move(args)), "XACK");
    }
    return out;
  }

  void ack(const std::string& group, const std::vector<Id>& ids) override {
    std::vector<std::string> entries;
    {
      std::lock_guard lock(mu_);
      auto& handed = handed_out_[group];
      for (Id id : ids) {
        auto it = handed.find(id);
        if (it == handed.end()) continue;
        entries.push_back(it->second);
        handed.erase(it);
      }
    }
    if (entries.empty()) return;
    std::vector<std::string> args{"XACK", opts_.stream, group};
    args.insert(args.end(), entries.begin(), entries.end());
    check(call(std::move(args)), "XACK");
  }

 private:
  // Runs one command on the client's strand and waits for it (the client's own timeout bounds
  // the wait). Throws RedisError when there was no reply.
  RedisReply call(std::vector<std::string> args) {
    if (on_client_thread(client_.executor()))
      throw std::logic_error(
          "redis event log: blocking call on the Redis client's own thread (it would wait for "
          "itself); call it from the blocking pool");
    return asio::co_spawn(
               client_.executor(),
               [this, a = std::move(args)]() mutable { return client_.command(std::move(a)); },
               asio::use_future)
        .get();
  }

  // An error reply is a failure here (a wrong type, an unknown group, ...).
  static RedisReply check(RedisReply r, const char* what) {
    if (r.is_error()) throw RedisError("error", std::string(what) + ": " + r.str);
    return r;
  }

  // XREADGROUP's reply: [[stream, [entries]]] or nil when there is nothing.
  static RedisReply stream_entries(const RedisReply& r) {
    if (r.type != RedisReply::Type::array || r.elements.empty()) return {};
    const auto& s = r.elements[0];
    if (s.type != RedisReply::Type::array || s.elements.size() != 2) return {};
    return s.elements[1];
  }

  // A command on `group` (XREADGROUP, XAUTOCLAIM). NOGROUP means Redis lost the group (a
  // restart without persistence, the stream deleted): create it again and retry once.
  RedisReply group_call(const std::string& group, std::vector<std::string> args, const char* what) {
    auto r = call(args);
    if (r.is_error() && r.str.rfind("NOGROUP", 0) == 0) {
      spdlog::warn("voice events: consumer group {} of {} is gone; creating it again", group,
                   opts_.stream);
      {
        std::lock_guard lock(mu_);
        groups_.erase(group);
        claim_cursor_.erase(group);
        handed_out_.erase(group);
      }
      ensure_group(group);
      r = call(std::move(args));
    }
    return check(std::move(r), what);
  }

  void ensure_group(const std::string& group) {
    {
      std::lock_guard lock(mu_);
      if (groups_.count(group)) return;
    }
    auto r = call({"XGROUP", "CREATE", opts_.stream, group, "0", "MKSTREAM"});
    if (r.is_error() && r.str.rfind("BUSYGROUP", 0) != 0)
      throw RedisError("error", "XGROUP: " + r.str);
    std::lock_guard lock(mu_);
    groups_.insert(group);
  }

  std::string claim_cursor(const std::string& group) {
    std::lock_guard lock(mu_);
    auto it = claim_cursor_.find(group);
    return it == claim_cursor_.end() ? "0-0" : it->second;
  }

  void set_claim_cursor(const std::string& group, const std::string& next) {
    std::lock_guard lock(mu_);
    claim_cursor_[group] = next;
  }

  RedisClient& client_;
  RedisEventLogOptions opts_;
  std::mutex read_mu_;  // held for a whole read()
  std::mutex mu_;       // the maps below
  std::set<std::string> groups_;
  std::map<std::string, std::string> claim_cursor_;  // group -> where XAUTOCLAIM goes on
  std::map<std::string, std::map<Id, std::string>> handed_out_;  // group -> event id -> entry id
};

}  // namespace

std::unique_ptr<EventLog> make_redis_event_log(RedisClient& client, RedisEventLogOptions opts) {
  return std::make_unique<RedisEventLog>(client, std::move(opts));
}

}  // namespace hype::cluster
