#include "cluster/redis_mode_coordinator.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace hype::cluster {

namespace {

// ModePolicy::on_count on the channel's hash. KEYS: 1 the channel, 2 the due set.
// ARGV: 1 channel id, 2 guild, 3 count, 4 now ms, 5 p2p_max_users, 6 return_delay_ms,
// 7 ttl s. Returns the new mode ('sfu' or 'p2p') when it changed, else nil.
constexpr const char* kOnCount = R"LUA(
local count, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local max, delay = tonumber(ARGV[5]), tonumber(ARGV[6])
local mode = redis.call('HGET', KEYS[1], 'mode')
local function keep()
  redis.call('HSET', KEYS[1], 'guild', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[7])
end
local function not_low()
  redis.call('HDEL', KEYS[1], 'low_since')
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local function forget()
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
if count <= 0 then
  if not mode then return false end
  forget()
  return 'p2p'
end
if count > max then
  not_low()
  keep()
  if mode == 'sfu' then return false end
  redis.call('HSET', KEYS[1], 'mode', 'sfu')
  return 'sfu'
end
if mode ~= 'sfu' then return false end
if count > max - 2 then
  not_low()
  keep()
  return false
end
local low = tonumber(redis.call('HGET', KEYS[1], 'low_since'))
if not low then
  low = now
  redis.call('HSET', KEYS[1], 'low_since', ARGV[4])
end
if now - low >= delay then
  forget()
  return 'p2p'
end
redis.call('ZADD', KEYS[2], low + delay, ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[7])
keep()
return false
)LUA";

// Claims the due channels a caller found. KEYS: 1 the due set, 2.. the channels' hashes.
// ARGV: 1 now ms, 2 return_delay_ms, 3.. the channel ids (ARGV[i + 1] is KEYS[i]'s).
// Returns {channel, guild, ...} for each channel this call switched back to P2P.
constexpr const char* kClaim = R"LUA(
local now, delay = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 2, #KEYS do
  local id = ARGV[i + 1]
  local f = redis.call('HMGET', KEYS[i], 'mode', 'low_since', 'guild')
  local low = tonumber(f[2])
  if f[1] == 'sfu' and low then
    if now - low >= delay then
      redis.call('DEL', KEYS[i])
      redis.call('ZREM', KEYS[1], id)
      out[#out + 1] = id
      out[#out + 1] = f[3] or '0'
    end
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
)LUA";

Id to_id(const std::string& s) {
  try {
    return static_cast<Id>(std::stoll(s));
  } catch (const std::exception&) {
    return 0;
  }
}

class RedisModeCoordinator final : public ModeCoordinator {
 public:
  RedisModeCoordinator(RedisClient& redis, ModePolicy::Options o, RedisModeOptions ro)
      : redis_(redis), o_(std::move(o)), ro_(std::move(ro)) {
    if (o_.mode == "p2p") fixed_ = VoiceMode::p2p;
    if (o_.mode == "sfu") fixed_ = VoiceMode::sfu;
  }

  Task<std::optional<ModeUpdate>> async_on_count(Id channel_id, Id guild_id, int count,
                                                 std::int64_t now_ms) override {
    std::optional<ModeUpdate> out;
    if (fixed_) co_return out;
    // (Arguments built before co_await: GCC 12 miscompiles braced lists in a co_await.)
    std::vector<std::string> args{"EVAL",
                                  kOnCount,
                                  "2",
                                  channel_key(channel_id),
                                  ro_.prefix + "due",
                                  std::to_string(channel_id),
                                  std::to_string(guild_id),
                                  std::to_string(count),
                                  std::to_string(now_ms),
                                  std::to_string(o_.p2p_max_users),
                                  std::to_string(o_.return_delay_ms),
                                  std::to_string(ro_.state_ttl.count())};
    RedisReply r = co_await checked(std::move(args));
    if (r.type == RedisReply::Type::string)
      out = ModeUpdate{channel_id, guild_id, r.str == "sfu" ? VoiceMode::sfu : VoiceMode::p2p};
    co_return out;
  }

  Task<VoiceMode> async_mode(Id channel_id) override {
    if (fixed_) co_return *fixed_;
    std::vector<std::string> args{"HGET", channel_key(channel_id), "mode"};
    RedisReply r = co_await checked(std::move(args));
    co_return r.str == "sfu" ? VoiceMode::sfu : VoiceMode::p2p;
  }

  Task<std::vector<ModeUpdate>> async_tick(std::int64_t now_ms) override {
    std::vector<ModeUpdate> out;
    if (fixed_) co_return out;
    std::vector<std::string> range{"ZRANGEBYSCORE",
                                   ro_.prefix + "due",
                                   "-inf",
                                   std::to_string(now_ms),
                                   "LIMIT",
                                   "0",
                                   std::to_string(ro_.tick_batch)};
    RedisReply due = co_await checked(std::move(range));
    if (due.elements.empty()) co_return out;
    std::vector<std::string> args{"EVAL", kClaim, std::to_string(due.elements.size() + 1),
                                  ro_.prefix + "due"};
    for (const auto& id : due.elements) args.push_back(channel_key(to_id(id.str)));
    args.push_back(std::to_string(now_ms));
    args.push_back(std::to_string(o_.return_delay_ms));
    for (const auto& id : due.elements) args.push_back(id.str);
    RedisReply claimed = co_await checked(std::move(args));
    for (std::size_t i = 0; i + 2 <= claimed.elements.size(); i += 2)
      out.push_back(
          {to_id(claimed.elements[i].str), to_id(claimed.elements[i + 1].str), VoiceMode::p2p});
    co_return out;
  }

 private:
  std::string channel_key(Id channel) const { return ro_.prefix + std::to_string(channel); }

  // The reply, or RedisError for an error reply (a script error, Redis out of memory).
  Task<RedisReply> checked(std::vector<std::string> args) {
    RedisReply r = co_await redis_.command(std::move(args));
    if (r.is_error()) throw RedisError("script", "voice mode: " + r.str);
    co_return r;
  }

  RedisClient& redis_;
  ModePolicy::Options o_;
  RedisModeOptions ro_;
  std::optional<VoiceMode> fixed_;
};

}  // namespace

std::unique_ptr<ModeCoordinator> make_redis_mode_coordinator(RedisClient& client,
                                                             ModePolicy::Options options,
                                                             RedisModeOptions redis_options) {
  return std::make_unique<RedisModeCoordinator>(client, std::move(options),
                                                std::move(redis_options));
}

}  // namespace hype::cluster
