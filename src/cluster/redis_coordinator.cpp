#include "cluster/redis_coordinator.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <utility>
#include <vector>

#include "cluster/rate_limiter.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"

namespace hype::cluster {

namespace {

// ---- rate buckets: KEYS 1 the bucket. ARGV: 1 burst, 2 rate per s, 3 cost, 4 "take"|"peek".
// Returns {allowed (0/1), retry_after_s as a string} (a Lua number would be truncated).
constexpr const char* kBucket = R"LUA(
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local burst, rate, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = burst
if v[1] then tokens = math.min(burst, tonumber(v[1]) + (now - tonumber(v[2])) * rate) end
local allowed = tokens >= cost
if ARGV[4] == 'take' then
  if allowed then tokens = tokens - cost end
  redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', string.format('%.6f', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
end
if allowed then return {1, '0'} end
return {0, string.format('%.17g', (cost - tokens) / rate)}
)LUA";

// ---- presence: KEYS 1 the node set. The prelude drops dead nodes and sums a user's sessions.
constexpr const char* kPresencePrelude = R"LUA(
local P = 'hype:{presence}:'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl))) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', P .. 'n:' .. id)
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local function sessions(user)
  local n = 0
  for _, id in ipairs(live) do n = n + tonumber(redis.call('HGET', P .. 'n:' .. id, user) or '0') end
  return n
end
local function beat(node)
  redis.call('ZADD', KEYS[1], now, node)
  redis.call('PEXPIRE', P .. 'n:' .. node, ttl * 2)
  local seen = false
  for _, id in ipairs(live) do if id == node then seen = true end end
  if not seen then live[#live + 1] = node end
end
)LUA";

// ARGV: 1 ttl, 2 node, 3 user, 4 +1|-1. Returns the user's sessions across live nodes after.
constexpr const char* kPresenceChange = R"LUA(
beat(ARGV[2])
local key = P .. 'n:' .. ARGV[2]
if tonumber(redis.call('HINCRBY', key, ARGV[3], tonumber(ARGV[4]))) <= 0 then
  redis.call('HDEL', key, ARGV[3])
end
return sessions(ARGV[3])
)LUA";

// ARGV: 1 ttl, 2.. users. Returns the users with a session anywhere, in the given order.
constexpr const char* kPresenceOnline = R"LUA(
local out = {}
for i = 2, #ARGV do if sessions(ARGV[i]) > 0 then out[#out + 1] = ARGV[i] end end
return out
)LUA";

// ARGV: 1 ttl, 2 node.
constexpr const char* kPresenceKeepalive = R"LUA(
beat(ARGV[2])
return 1
)LUA";

// ---- voice states: KEYS 1 the set of users in voice. A state travels as the array
// {user, guild, channel, mute, deaf, suppress, joined_at, session, stream}.
constexpr const char* kVoicePrelude = R"LUA(
local V = 'hype:{voice}:'
local function state(u)
  local f = redis.call('HMGET', V .. 'u:' .. u, 'g', 'c', 'm', 'd', 's', 'j', 'n', 'l')
  if not f[2] then return nil end
  return {u, f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]}
end
local function remove(st)
  redis.call('DEL', V .. 'u:' .. st[1])
  redis.call('SREM', KEYS[1], st[1])
  redis.call('SREM', V .. 'c:' .. st[3], st[1])
  if redis.call('SCARD', V .. 'c:' .. st[3]) == 0 then redis.call('SREM', V .. 'channels', st[3]) end
  redis.call('SREM', V .. 'g:' .. st[2], st[1])
end
local function members(set, field, want)
  local out = {}
  for _, u in ipairs(redis.call('SMEMBERS', set)) do
    local st = state(u)
    if st and st[field] == want then out[#out + 1] = st else redis.call('SREM', set, u) end
  end
  return out
end
)LUA";

// ARGV: 1 user, 2 channel, 3 guild, 4 mute, 5 deaf, 6 suppress, 7 joined_at, 8 session,
// 9 stream, 10 user limit, 11 a new generation (set if the store has none: it is empty, or
// restarted empty). Returns {full (0/1), count, state, previous state or {}}.
constexpr const char* kVoiceJoin = R"LUA(
local u, ch = ARGV[1], ARGV[2]
local ck = V .. 'c:' .. ch
local cur = state(u)
local here = cur ~= nil and cur[3] == ch
local limit = tonumber(ARGV[10])
if redis.call('EXISTS', V .. 'gen') == 0 then redis.call('SET', V .. 'gen', ARGV[11]) end
if not here and limit > 0 and redis.call('SCARD', ck) >= limit then
  return {1, redis.call('SCARD', ck), {}, {}}
end
local j, n, l = ARGV[7], ARGV[8], ARGV[9]
local prev = {}
if cur and not here then
  remove(cur)
  prev = cur
end
if here then j, n, l = cur[7], cur[8], cur[9] end
redis.call('HSET', V .. 'u:' .. u, 'g', ARGV[3], 'c', ch, 'm', ARGV[4], 'd', ARGV[5], 's', ARGV[6],
           'j', j, 'n', n, 'l', l)
redis.call('SADD', KEYS[1], u)
redis.call('SADD', ck, u)
redis.call('SADD', V .. 'g:' .. ARGV[3], u)
redis.call('SADD', V .. 'channels', ch)
return {0, redis.call('SCARD', ck), state(u), prev}
)LUA";

// ARGV: 1 user, 2 channel ('0': any). Returns the state left, or {}.
constexpr const char* kVoiceLeave = R"LUA(
local cur = state(ARGV[1])
if not cur or (ARGV[2] ~= '0' and cur[3] ~= ARGV[2]) then return {} end
remove(cur)
return cur
)LUA";

// ARGV: 1 user, 2 what ('self' | 'suppress' | 'stream' | 'get'), 3.. values. Returns the state
// after, or {} when the user is not in voice (for 'stream': not in channel ARGV[3]).
constexpr const char* kVoiceSet = R"LUA(
local cur = state(ARGV[1])
if not cur then return {} end
local key = V .. 'u:' .. ARGV[1]
if ARGV[2] == 'self' then
  redis.call('HSET', key, 'm', ARGV[3], 'd', ARGV[4])
elseif ARGV[2] == 'suppress' then
  redis.call('HSET', key, 's', ARGV[3])
  if ARGV[3] == '1' then redis.call('HSET', key, 'm', '1') end
elseif ARGV[2] == 'stream' then
  if cur[3] ~= ARGV[3] then return {} end
  redis.call('HSET', key, 'l', ARGV[4])
end
return state(ARGV[1])
)LUA";

// ARGV: 1 'channel' | 'guild', 2 id. Returns the states, an array of arrays.
constexpr const char* kVoiceList = R"LUA(
if ARGV[1] == 'channel' then return members(V .. 'c:' .. ARGV[2], 3, ARGV[2]) end
return members(V .. 'g:' .. ARGV[2], 2, ARGV[2])
)LUA";

// ARGV: 1 user. Returns {state or {}, the store's generation or ''}.
constexpr const char* kVoiceLookup = R"LUA(
return {state(ARGV[1]) or {}, redis.call('GET', V .. 'gen') or ''}
)LUA";

// Returns {channels with users, users in voice}.
constexpr const char* kVoiceCounts = R"LUA(
return {redis.call('SCARD', V .. 'channels'), redis.call('SCARD', KEYS[1])}
)LUA";

struct Scripts {
  std::string bucket, presence_change, presence_online, presence_keepalive;
  std::string voice_join, voice_leave, voice_set, voice_list, voice_counts, voice_lookup;
};
const Scripts& scripts() {
  auto p = [](const char* body) { return std::string(kPresencePrelude) + body; };
  auto v = [](const char* body) { return std::string(kVoicePrelude) + body; };
  static const Scripts s{
      kBucket,         p(kPresenceChange), p(kPresenceOnline), p(kPresenceKeepalive),
      v(kVoiceJoin),   v(kVoiceLeave),     v(kVoiceSet),       v(kVoiceList),
      v(kVoiceCounts), v(kVoiceLookup)};
  return s;
}

const std::string kPresenceNodes = "hype:{presence}:nodes";
const std::string kVoiceUsers = "hype:{voice}:users";

std::string b(bool v) {
  return v ? "1" : "0";
}

// A reply that is not what the script returns: a bug or a foreign key, never user input.
[[noreturn]] void bad_reply(const char* what, const RedisReply& r) {
  throw RedisError("script", std::string("coordinator ") + what + ": unexpected reply" +
                                 (r.is_error() ? ": " + r.str : std::string()));
}

std::int64_t to_i64(const RedisReply& r) {
  if (r.type == RedisReply::Type::integer) return r.integer;
  try {
    return std::stoll(r.str);
  } catch (const std::exception&) {
    return 0;
  }
}

std::optional<VoiceState> decode_state(const RedisReply& r) {
  if (r.type != RedisReply::Type::array || r.elements.size() != 9) return std::nullopt;
  const auto& f = r.elements;
  VoiceState s;
  try {
    s.user_id = std::stoll(f[0].str);
    s.guild_id = std::stoll(f[1].str);
    s.channel_id = std::stoll(f[2].str);
    s.self_mute = f[3].str == "1";
    s.self_deaf = f[4].str == "1";
    s.suppress = f[5].str == "1";
    s.joined_at = std::stoll(f[6].str);
    s.session = std::stoull(f[7].str);
    s.self_stream = f[8].str == "1";
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return s;
}

std::vector<VoiceState> decode_states(const RedisReply& r) {
  std::vector<VoiceState> out;
  for (const auto& e : r.elements)
    if (auto s = decode_state(e)) out.push_back(*s);
  return out;
}

class RedisCoordinator final : public Coordinator {
 public:
  RedisCoordinator(RedisClient& redis, RedisCoordinatorOptions o)
      : redis_(redis), o_(std::move(o)), ttl_(std::to_string(o_.presence_ttl.count())) {}

  // ---- rate buckets ----
  Task<RateDecision> async_take(std::string key, RateBudget budget, double cost) override {
    co_return co_await bucket(std::move(key), budget, cost, true);
  }
  Task<RateDecision> async_peek(std::string key, RateBudget budget, double cost) override {
    co_return co_await bucket(std::move(key), budget, cost, false);
  }
  Task<void> async_forget(std::string key) override {
    fallback_.forget(key);
    std::vector<std::string> args{"DEL", bucket_key(key)};
    try {
      co_await redis_.command(std::move(args));
    } catch (const RedisError& e) {
      warn("forget", e);
    }
  }

  // ---- presence ----
  Task<int> async_presence_connect(Id user_id) override {
    co_return co_await presence_change(user_id, 1);
  }
  Task<int> async_presence_disconnect(Id user_id) override {
    co_return co_await presence_change(user_id, -1);
  }
  Task<bool> async_is_online(Id user_id) override {
    std::vector<Id> one{user_id};
    auto on = co_await async_online(std::move(one));
    co_return !on.empty();
  }
  Task<std::vector<Id>> async_online(std::vector<Id> user_ids) override {
    std::vector<Id> out;
    if (user_ids.empty()) co_return out;
    std::vector<std::string> argv{ttl_};
    for (Id u : user_ids) argv.push_back(std::to_string(u));
    RedisReply r;
    try {
      r = co_await run(scripts().presence_online, kPresenceNodes, std::move(argv));
    } catch (const RedisError& e) {
      warn("presence", e);
      co_return out;  // nobody known to be online: a member list shows them offline
    }
    if (r.type != RedisReply::Type::array) bad_reply("online", r);
    for (const auto& e : r.elements) out.push_back(to_i64(e));
    co_return out;
  }
  Task<void> async_keepalive() override {
    std::vector<std::string> argv{ttl_, o_.node_id};
    try {
      co_await run(scripts().presence_keepalive, kPresenceNodes, std::move(argv));
    } catch (const RedisError& e) {
      warn("keepalive", e);
    }
  }

  // ---- voice states ----
  Task<VoiceJoin> async_voice_join(VoiceState s, int user_limit) override {
    std::vector<std::string> argv{std::to_string(s.user_id),
                                  std::to_string(s.channel_id),
                                  std::to_string(s.guild_id),
                                  b(s.self_mute),
                                  b(s.self_deaf),
                                  b(s.suppress),
                                  std::to_string(s.joined_at),
                                  std::to_string(s.session),
                                  b(s.self_stream),
                                  std::to_string(user_limit),
                                  std::to_string(random_u64())};
    RedisReply r = co_await run(scripts().voice_join, kVoiceUsers, std::move(argv));
    if (r.type != RedisReply::Type::array || r.elements.size() != 4) bad_reply("join", r);
    VoiceJoin out;
    out.full = to_i64(r.elements[0]) == 1;
    out.count = static_cast<int>(to_i64(r.elements[1]));
    if (out.full) co_return out;
    auto st = decode_state(r.elements[2]);
    if (!st) bad_reply("join", r);
    out.state = *st;
    out.previous = decode_state(r.elements[3]);
    co_return out;
  }
  Task<std::optional<VoiceState>> async_voice_leave(Id user_id, Id channel_id) override {
    std::vector<std::string> argv{std::to_string(user_id), std::to_string(channel_id)};
    co_return decode_state(co_await run(scripts().voice_leave, kVoiceUsers, std::move(argv)));
  }
  Task<std::optional<VoiceState>> async_voice_update(Id user_id, bool self_mute,
                                                     bool self_deaf) override {
    std::vector<std::string> argv{std::to_string(user_id), "self", b(self_mute), b(self_deaf)};
    co_return decode_state(co_await run(scripts().voice_set, kVoiceUsers, std::move(argv)));
  }
  Task<std::optional<VoiceState>> async_voice_suppress(Id user_id, bool suppress) override {
    std::vector<std::string> argv{std::to_string(user_id), "suppress", b(suppress)};
    co_return decode_state(co_await run(scripts().voice_set, kVoiceUsers, std::move(argv)));
  }
  Task<std::optional<VoiceState>> async_voice_state(Id user_id) override {
    std::vector<std::string> argv{std::to_string(user_id), "get"};
    co_return decode_state(co_await run(scripts().voice_set, kVoiceUsers, std::move(argv)));
  }
  Task<VoiceLookup> async_voice_lookup(Id user_id) override {
    std::vector<std::string> argv{std::to_string(user_id)};
    RedisReply r = co_await run(scripts().voice_lookup, kVoiceUsers, std::move(argv));
    if (r.type != RedisReply::Type::array || r.elements.size() != 2) bad_reply("lookup", r);
    VoiceLookup out;
    out.state = decode_state(r.elements[0]);
    out.generation = r.elements[1].str;
    co_return out;
  }
  Task<std::optional<VoiceState>> async_voice_set_stream(Id user_id, Id channel_id,
                                                         bool live) override {
    std::vector<std::string> argv{std::to_string(user_id), "stream", std::to_string(channel_id),
                                  b(live)};
    co_return decode_state(co_await run(scripts().voice_set, kVoiceUsers, std::move(argv)));
  }
  Task<std::vector<VoiceState>> async_channel_voice_states(Id channel_id) override {
    std::vector<std::string> argv{"channel", std::to_string(channel_id)};
    co_return decode_states(co_await run(scripts().voice_list, kVoiceUsers, std::move(argv)));
  }
  Task<std::vector<VoiceState>> async_guild_voice_states(Id guild_id) override {
    std::vector<std::string> argv{"guild", std::to_string(guild_id)};
    co_return decode_states(co_await run(scripts().voice_list, kVoiceUsers, std::move(argv)));
  }
  Task<int> async_active_voice_channels() override {
    auto counts = co_await voice_counts();
    co_return counts.first;
  }
  Task<int> async_active_voice_users() override {
    auto counts = co_await voice_counts();
    co_return counts.second;
  }

 private:
  static std::string bucket_key(const std::string& key) { return "hype:rl:" + key; }

  Task<RateDecision> bucket(std::string key, RateBudget budget, double cost, bool take) {
    RedisReply r;
    bool down = false;
    try {
      std::vector<std::string> args{"EVAL",
                                    scripts().bucket,
                                    "1",
                                    bucket_key(key),
                                    std::to_string(budget.tokens),
                                    std::to_string(budget.rate()),
                                    std::to_string(cost),
                                    take ? "take" : "peek"};
      r = co_await redis_.command(std::move(args));
    } catch (const RedisError& e) {
      warn("rate limit", e);
      down = true;
    }
    // Redis unreachable (or a reply that makes no sense): this node's own bucket decides.
    double now = static_cast<double>(steady_us()) / 1e6;
    if (down || r.type != RedisReply::Type::array || r.elements.size() != 2) {
      if (!down) spdlog::warn("coordinator: rate limit script answered {}", r.str);
      co_return take ? fallback_.take(key, budget, cost, now)
                     : fallback_.peek(key, budget, cost, now);
    }
    RateDecision d;
    d.allowed = to_i64(r.elements[0]) == 1;
    try {
      d.retry_after_s = d.allowed ? 0 : std::stod(r.elements[1].str);
    } catch (const std::exception&) {
      d.retry_after_s = 1;
    }
    co_return d;
  }

  Task<int> presence_change(Id user_id, int delta) {
    std::vector<std::string> argv{ttl_, o_.node_id, std::to_string(user_id), std::to_string(delta)};
    try {
      RedisReply r = co_await run(scripts().presence_change, kPresenceNodes, std::move(argv));
      if (r.type != RedisReply::Type::integer) bad_reply("presence", r);
      co_return static_cast<int>(r.integer);
    } catch (const RedisError& e) {
      warn("presence", e);
    }
    // Unknown across the cluster: as if this were the user's only session.
    co_return delta > 0 ? 1 : 0;
  }

  Task<std::pair<int, int>> voice_counts() {
    RedisReply r = co_await run(scripts().voice_counts, kVoiceUsers, std::vector<std::string>());
    if (r.type != RedisReply::Type::array || r.elements.size() != 2) bad_reply("counts", r);
    co_return std::pair<int, int>{static_cast<int>(to_i64(r.elements[0])),
                                  static_cast<int>(to_i64(r.elements[1]))};
  }

  // EVAL of `script` (one of scripts(): static, so the reference outlives the coroutine) with
  // one declared key. An error reply becomes RedisError.
  Task<RedisReply> run(const std::string& script, const std::string& key,
                       std::vector<std::string> argv) {
    std::vector<std::string> args;
    args.reserve(argv.size() + 4);
    args.emplace_back("EVAL");
    args.push_back(script);
    args.emplace_back("1");
    args.push_back(key);
    for (auto& a : argv) args.push_back(std::move(a));
    RedisReply r = co_await redis_.command(std::move(args));
    if (r.is_error()) throw RedisError("script", "coordinator script failed: " + r.str);
    co_return r;
  }

  // One warning per 10 s at most: an outage must not flood the log.
  void warn(const char* what, const RedisError& e) {
    auto now = steady_us();
    auto last = last_warning_us_.load(std::memory_order_relaxed);
    if (now - last < 10'000'000) return;
    if (!last_warning_us_.compare_exchange_strong(last, now)) return;
    spdlog::warn("coordinator: {} on redis failed ({}); falling back where it can", what, e.what());
  }

  RedisClient& redis_;
  RedisCoordinatorOptions o_;
  std::string ttl_;
  RateLimiter fallback_;
  std::atomic<std::int64_t> last_warning_us_{0};
};

}  // namespace

std::unique_ptr<Coordinator> make_redis_coordinator(RedisClient& redis,
                                                    RedisCoordinatorOptions options) {
  return std::make_unique<RedisCoordinator>(redis, std::move(options));
}

}  // namespace hype::cluster
