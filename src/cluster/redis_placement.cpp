#include "cluster/redis_placement.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hype::cluster {

namespace {

// KEYS: 1 nodes (zset: id -> last heartbeat, ms of Redis's clock), 2 info (hash: id ->
// "url\nregion\ncapacity\nparticipants\ndraining\nclient", client: the id of the connection
// the node heartbeats on), 3 counts (hash: id -> channels placed).
// Two more keys are derived from the prefix of KEYS[1] (same hash tag, so the same slot):
// nch:<id> (set: the channel keys placed on node id) and gone (hash: id -> region of a node
// that left the registry while channels were placed on it; the sweep moves them).
// The clock is Redis's own (TIME), so API and SFU nodes need not agree on the time.
constexpr const char* kPrelude = R"LUA(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local P = string.sub(KEYS[1], 1, -6)
local GONE = P .. 'gone'
local function nch(id) return P .. 'nch:' .. id end
-- A pause of over 1.5 s with no script at all (Redis frozen, or cut off from every node:
-- heartbeats and API sweeps run several times a second otherwise) does not count against the
-- nodes: their heartbeat ages are shifted by it, so they do not all look expired the moment
-- Redis is back (every channel would move at once). Called by the scripts that judge or renew
-- liveness.
local function settle()
  local last = tonumber(redis.call('GET', P .. 'clock') or '0')
  local idle = now - last
  if last > 0 and idle > 1500 then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      redis.call('ZINCRBY', KEYS[1], idle, id)
    end
  end
  redis.call('SET', P .. 'clock', now)
end
local function info(id)
  local v = redis.call('HGET', KEYS[2], id)
  if not v then return nil end
  local f = {}
  for part in string.gmatch(v .. '\n', '([^\n]*)\n') do f[#f + 1] = part end
  return {url = f[1] or '', region = f[2] or '', cap = tonumber(f[3]) or 0,
          load = tonumber(f[4]) or 0, draining = f[5] == '1', client = f[6] or ''}
end
-- The node leaves the registry. Its channels are placed again on their next place(), or by the
-- sweep, which finds them through `gone`.
local function forget(id)
  local n = info(id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  if redis.call('SCARD', nch(id)) > 0 then
    redis.call('HSET', GONE, id, n and n.region or '')
  end
end
-- `regions`: the preferred regions, nearest first, comma-separated ('' none).
local function ranks(regions)
  local r, i = {}, 0
  for part in string.gmatch(regions, '[^,]+') do
    i = i + 1
    if r[part] == nil then r[part] = i end
  end
  return r
end
-- The live node for a new decision: not draining, under capacity, not `exclude`; of the
-- nearest preferred region first (any other region last), then the fewest placed channels,
-- then the fewest participants.
local function choose(regions, exclude)
  local rank = ranks(regions)
  local best, best_n, best_rank, best_placed
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local n = info(id)
    if id ~= exclude and n and not n.draining and (n.cap <= 0 or n.load < n.cap) then
      local r = rank[n.region] or 1000000
      local placed = tonumber(redis.call('HGET', KEYS[3], id) or '0')
      local better = best == nil
      if not better then
        if r ~= best_rank then better = r < best_rank
        elseif placed ~= best_placed then better = placed < best_placed
        else better = n.load < best_n.load end
      end
      if better then best, best_n, best_rank, best_placed = id, n, r, placed end
    end
  end
  return best, best_n
end
-- Records a new decision for the channel `ck` (its key) with a fresh epoch (counter `ek`);
-- `prev`: the node it was on ('' none).
local function assign(best, best_n, prev, channel_ttl, ck, ek)
  local epoch = redis.call('INCR', ek)
  redis.call('HSET', ck, 'node', best, 'epoch', epoch)
  redis.call('EXPIRE', ck, channel_ttl)
  redis.call('HINCRBY', KEYS[3], best, 1)
  redis.call('SADD', nch(best), ck)
  if prev ~= '' and prev ~= best then redis.call('SREM', nch(prev), ck) end
  return {best, tostring(epoch), best_n.url, best_n.region, 1, prev}
end
)LUA";

// ARGV: 1 id, 2 info. Returns 2 when a drain of the node was requested (taken: said once), else 1.
constexpr const char* kAnnounce = R"LUA(
settle()
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HDEL', GONE, ARGV[1])  -- back before the sweep moved its channels: they stay
if redis.call('HDEL', P .. 'drain', ARGV[1]) == 1 then return 2 end
return 1
)LUA";

// ARGV: 1 id.
constexpr const char* kWithdraw = R"LUA(
forget(ARGV[1])
return 1
)LUA";

// ARGV: 1 id. Returns the id of the Redis connection the node last heartbeat on ('' if none).
constexpr const char* kClientOf = R"LUA(
local n = info(ARGV[1])
if not n then return '' end
return n.client
)LUA";

// ARGV: 1 id, 2 client id found closed. Withdraws the node if it still heartbeats on that
// connection (not if it came back on a new one meanwhile). Returns 1 when withdrawn.
constexpr const char* kWithdrawIfClient = R"LUA(
local n = info(ARGV[1])
if not n or n.client ~= ARGV[2] then return 0 end
forget(ARGV[1])
return 1
)LUA";

// KEYS 4: the channel (hash: node, epoch), 5: the epoch counter.
// ARGV: 1 node ttl ms, 2 preferred regions (comma-separated, '' any), 3 channel ttl s, 4 the
// only node a new decision may take ('' any): nil when it cannot take the channel now.
// Returns {node, epoch, url, region, new (0/1)} or nil when no node can take it.
constexpr const char* kPlace = R"LUA(
settle()
local ttl = tonumber(ARGV[1])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl))) do
  forget(id)
end
local cur = redis.call('HMGET', KEYS[4], 'node', 'epoch')
if cur[1] and redis.call('ZSCORE', KEYS[1], cur[1]) then
  local n = info(cur[1])
  if n then
    redis.call('EXPIRE', KEYS[4], ARGV[3])
    return {cur[1], cur[2], n.url, n.region, 0, ''}
  end
end
local want = ARGV[4] or ''
if want ~= '' then
  -- Only there (the call runs there): not yet registered again (right after an empty
  -- restart) or unable to take it, no decision now; the caller retries.
  local n = redis.call('ZSCORE', KEYS[1], want) and info(want)
  if n and not n.draining and (n.cap <= 0 or n.load < n.cap) then
    return assign(want, n, cur[1] or '', ARGV[3], KEYS[4], KEYS[5])
  end
  return nil
end
local best, best_n = choose(ARGV[2], '')
if not best then return nil end
return assign(best, best_n, cur[1] or '', ARGV[3], KEYS[4], KEYS[5])
)LUA";

// KEYS 4: the channel, 5: the epoch counter. ARGV: 1 the node it leaves (draining), 2 regions
// preferred, 3 channel ttl s. Moves the channel off that node if it is there: returns the new
// decision like kPlace, or nil (not on that node, or no other node can take it).
constexpr const char* kMove = R"LUA(
local cur = redis.call('HMGET', KEYS[4], 'node', 'epoch')
if cur[1] ~= ARGV[1] then return nil end
local best, best_n = choose(ARGV[2], ARGV[1])
if not best then return nil end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[3], ARGV[1], -1) end
return assign(best, best_n, ARGV[1], ARGV[3], KEYS[4], KEYS[5])
)LUA";

// KEYS 4: the epoch counter, 5...: the channels the node serves. ARGV: 1 node id, 2 channel
// ttl s. A channel placed on the node has its record kept alive; one with no record is placed
// on it again (unless it drains); one placed on another node is returned. Returns
// {position of the channel among KEYS 5..., node, epoch, url, region} for each, flattened.
constexpr const char* kClaim = R"LUA(
local me = ARGV[1]
local mine = info(me)
local out = {}
for i = 5, #KEYS do
  local cur = redis.call('HMGET', KEYS[i], 'node', 'epoch')
  if not cur[1] then
    if mine and not mine.draining then
      local epoch = redis.call('INCR', KEYS[4])
      redis.call('HSET', KEYS[i], 'node', me, 'epoch', epoch)
      redis.call('EXPIRE', KEYS[i], ARGV[2])
      redis.call('HINCRBY', KEYS[3], me, 1)
      redis.call('SADD', nch(me), KEYS[i])
    end
  elseif cur[1] == me then
    redis.call('EXPIRE', KEYS[i], ARGV[2])
    redis.call('SADD', nch(me), KEYS[i])
  else
    local n = info(cur[1]) or {url = '', region = ''}
    out[#out + 1] = tostring(i - 4)
    out[#out + 1] = cur[1]
    out[#out + 1] = cur[2]
    out[#out + 1] = n.url
    out[#out + 1] = n.region
  end
end
return out
)LUA";

// KEYS 4: the epoch counter. ARGV: 1 node ttl ms, 2 channel ttl s, 3 most channels to move,
// 4 nearby regions ("eu=us,ap;us=eu").
// The node-expiry sweep: forgets nodes whose heartbeat expired, then moves the channels still
// placed on forgotten nodes to live ones (the gone node's region first, then its nearby ones).
// Returns {channel key, node, epoch, url, region, gone node} per move, flattened. A gone node whose
// channels all moved (or could not be placed for lack of nodes: they are tried again next time)
// leaves `gone` once none is left.
constexpr const char* kSweep = R"LUA(
settle()
local ttl = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl))
local out = {tostring(#expired)}
for _, id in ipairs(expired) do
  forget(id)
  out[#out + 1] = id
end
local budget = tonumber(ARGV[3])
local near = {}
for r, list in string.gmatch(ARGV[4] or '', '([^=;]+)=([^;]*)') do near[r] = list end
for _, id in ipairs(redis.call('HKEYS', GONE)) do
  local region = redis.call('HGET', GONE, id) or ''
  region = region .. ',' .. (near[region] or '')
  local left = 0
  for _, ck in ipairs(redis.call('SMEMBERS', nch(id))) do
    if redis.call('HGET', ck, 'node') ~= id then
      redis.call('SREM', nch(id), ck)  -- moved by a join meanwhile, released or expired
    elseif budget <= 0 then
      left = left + 1
    else
      local best, best_n = choose(region, id)
      if best then
        local r = assign(best, best_n, id, ARGV[2], ck, KEYS[4])
        out[#out + 1] = ck
        for j = 1, 4 do out[#out + 1] = r[j] end
        out[#out + 1] = id
        budget = budget - 1
      else
        left = left + 1
      end
    end
  end
  if left == 0 then
    redis.call('HDEL', GONE, id)
    redis.call('DEL', nch(id))
  end
end
return out
)LUA";

// KEYS 4: the channel. Returns {node, epoch, url, region} or nil.
constexpr const char* kLookup = R"LUA(
local cur = redis.call('HMGET', KEYS[4], 'node', 'epoch')
if not cur[1] then return nil end
local n = info(cur[1]) or {url = '', region = ''}
return {cur[1], cur[2], n.url, n.region}
)LUA";

// KEYS 4: the channel. ARGV: 1 epoch. Returns 1 when released.
constexpr const char* kRelease = R"LUA(
local cur = redis.call('HMGET', KEYS[4], 'node', 'epoch')
if not cur[1] or cur[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[4])
redis.call('SREM', nch(cur[1]), KEYS[4])
if redis.call('HEXISTS', KEYS[3], cur[1]) == 1 then redis.call('HINCRBY', KEYS[3], cur[1], -1) end
return 1
)LUA";

// Returns {id, age_ms, info, channels} for every node, flattened.
constexpr const char* kStatus = R"LUA(
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local beat = tonumber(redis.call('ZSCORE', KEYS[1], id))
  out[#out + 1] = id
  out[#out + 1] = tostring(now - beat)
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
  out[#out + 1] = redis.call('HGET', KEYS[3], id) or '0'
end
return out
)LUA";

// Every script with the prelude in front, built once.
struct Scripts {
  std::string announce, withdraw, place, lookup, release, status, client_of, withdraw_if_client,
      move, claim, sweep;
};
const Scripts& scripts() {
  auto with_prelude = [](const char* body) { return std::string(kPrelude) + body; };
  static const Scripts s{with_prelude(kAnnounce), with_prelude(kWithdraw),
                         with_prelude(kPlace),    with_prelude(kLookup),
                         with_prelude(kRelease),  with_prelude(kStatus),
                         with_prelude(kClientOf), with_prelude(kWithdrawIfClient),
                         with_prelude(kMove),     with_prelude(kClaim),
                         with_prelude(kSweep)};
  return s;
}

// The head of an EVAL of `script` whose KEYS are the registry's three (nodes, info, counts)
// followed by `more`; the caller appends ARGV.
std::vector<std::string> eval_with_registry(const std::string& prefix, const std::string& script,
                                            std::vector<std::string> more) {
  std::vector<std::string> args;
  args.reserve(6 + more.size());
  args.emplace_back("EVAL");
  args.push_back(script);
  args.push_back(std::to_string(3 + more.size()));
  args.push_back(prefix + "nodes");
  args.push_back(prefix + "info");
  args.push_back(prefix + "counts");
  for (auto& k : more) args.push_back(std::move(k));
  return args;
}

// `client`: the id of the Redis connection the node heartbeats on (CLIENT ID).
std::string encode_info(const SfuNode& n, long long client) {
  auto clean = [](std::string s) {
    std::erase(s, '\n');
    return s;
  };
  return clean(n.url) + "\n" + clean(n.region) + "\n" + std::to_string(n.capacity) + "\n" +
         std::to_string(n.participants) + "\n" + (n.draining ? "1" : "0") + "\n" +
         std::to_string(client);
}

int to_int(const std::string& s) {
  try {
    return std::stoi(s);
  } catch (const std::exception&) {
    return 0;
  }
}

// The inverse of encode_info (the scripts read the same fields in Lua).
void decode_info(const std::string& info, SfuNode& n) {
  std::vector<std::string> f(1);
  for (char ch : info) {
    if (ch == '\n')
      f.emplace_back();
    else
      f.back() += ch;
  }
  f.resize(6);
  n.url = f[0];
  n.region = f[1];
  n.capacity = to_int(f[2]);
  n.participants = to_int(f[3]);
  n.draining = f[4] == "1";
}

std::optional<Placed> decode_placed(Id channel, const RedisReply& r) {
  if (r.type != RedisReply::Type::array || r.elements.size() < 4) return std::nullopt;
  Placed p;
  p.channel_id = channel;
  p.node.id = r.elements[0].str;
  try {
    p.epoch = std::stoull(r.elements[1].str);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  p.node.url = r.elements[2].str;
  p.node.region = r.elements[3].str;
  p.decided = r.elements.size() >= 6 && r.elements[4].integer == 1;
  if (p.decided) p.moved_from = r.elements[5].str;
  return p;
}

class RedisPlacement final : public Placement {
 public:
  RedisPlacement(RedisClient& redis, RedisPlacementOptions o) : redis_(redis), o_(std::move(o)) {}

  Task<bool> async_announce(SfuNode node) override {
    // The connection's id goes with the heartbeat: report_unreachable asks Redis whether that
    // connection is still open (a killed process's is closed at once). The id changes with
    // every reconnect, so it is asked again after one, not every beat.
    std::uint64_t connects = redis_.connects();
    if (connects != client_id_of_connect_) {
      std::vector<std::string> id_cmd{"CLIENT", "ID"};
      RedisReply id = co_await redis_.command(std::move(id_cmd));
      if (id.type == RedisReply::Type::integer) {
        client_id_ = id.integer;
        client_id_of_connect_ = connects;
      }
    }
    // (Arguments built before co_await: GCC 12 miscompiles braced lists in a co_await.)
    std::vector<std::string> argv{node.id, encode_info(node, client_id_)};
    RedisReply r = co_await run(scripts().announce, std::string(), std::move(argv));
    co_return r.type == RedisReply::Type::integer&& r.integer == 2;
  }

  Task<std::optional<Placed>> async_move(Id channel_id, std::string from_node,
                                         std::optional<std::string> region) override {
    std::vector<std::string> argv{from_node, region.value_or(""),
                                  std::to_string(o_.channel_ttl.count())};
    RedisReply r = co_await run(scripts().move, channel_key(channel_id), std::move(argv));
    if (r.is_error()) throw PlacementError("placement script failed: " + r.str);
    auto p = decode_placed(channel_id, r);
    if (p) {
      std::lock_guard lock(mu_);
      cache_[channel_id] = *p;
    }
    co_return p;
  }

  Task<bool> async_report_unreachable(std::string node_id) override {
    std::vector<std::string> argv{node_id};
    RedisReply client = co_await run(scripts().client_of, std::string(), std::move(argv));
    if (client.is_error() || client.str.empty() || client.str == "0") co_return false;
    // CLIENT LIST ID answers one line per connection still open among those named.
    std::vector<std::string> list{"CLIENT", "LIST", "ID", client.str};
    RedisReply open = co_await redis_.command(std::move(list));
    if (open.is_error() || !open.str.empty()) co_return false;
    std::vector<std::string> argv2{node_id, client.str};
    RedisReply r = co_await run(scripts().withdraw_if_client, std::string(), std::move(argv2));
    bool gone = r.type == RedisReply::Type::integer && r.integer == 1;
    if (gone) {
      spdlog::warn(
          "sfu node {} reported unreachable and its redis connection is closed: "
          "withdrawn before its heartbeat expired",
          node_id);
      std::lock_guard lock(mu_);
      std::erase_if(cache_, [&](const auto& kv) { return kv.second.node.id == node_id; });
    }
    co_return gone;
  }

  Task<void> async_withdraw(std::string node_id) override {
    std::vector<std::string> argv{node_id};
    co_await run(scripts().withdraw, std::string(), std::move(argv));
    std::lock_guard lock(mu_);
    std::erase_if(cache_, [&](const auto& kv) { return kv.second.node.id == node_id; });
  }

  Task<std::optional<Placed>> async_place(Id channel_id, std::optional<std::string> region,
                                          std::string prefer_node) override {
    RedisReply r;
    std::string down;
    try {
      std::vector<std::string> argv{std::to_string(o_.node_ttl.count()), region.value_or(""),
                                    std::to_string(o_.channel_ttl.count()), prefer_node};
      r = co_await run(scripts().place, channel_key(channel_id), std::move(argv));
    } catch (const RedisError& e) {
      down = e.what();
    }
    // Redis unreachable: a channel placed before keeps its node (its clients hold tokens naming
    // it); a new one cannot be decided.
    if (!down.empty()) co_return cached(channel_id, down);
    if (r.is_error()) throw PlacementError("placement script failed: " + r.str);
    auto p = decode_placed(channel_id, r);
    std::lock_guard lock(mu_);
    if (!p) {
      cache_.erase(channel_id);
      co_return std::nullopt;
    }
    cache_[channel_id] = *p;
    co_return p;
  }

  Task<std::vector<Placed>> async_claim(std::string node_id, std::vector<Id> channels) override {
    std::vector<Placed> lost;
    if (channels.empty()) co_return lost;
    std::vector<std::string> keys{o_.prefix + "epoch"};
    for (Id c : channels) keys.push_back(channel_key(c));
    std::vector<std::string> args = eval_with_registry(o_.prefix, scripts().claim, std::move(keys));
    args.push_back(std::move(node_id));
    args.push_back(std::to_string(o_.channel_ttl.count()));
    RedisReply r = co_await redis_.command(std::move(args));
    if (r.is_error()) throw PlacementError("placement script failed: " + r.str);
    for (std::size_t i = 0; i + 5 <= r.elements.size(); i += 5) {
      const std::size_t at = static_cast<std::size_t>(to_int(r.elements[i].str));
      if (at < 1 || at > channels.size()) continue;
      Placed p;
      p.channel_id = channels[at - 1];
      p.node.id = r.elements[i + 1].str;
      try {
        p.epoch = std::stoull(r.elements[i + 2].str);
      } catch (const std::exception&) {
        p.epoch = 0;
      }
      p.node.url = r.elements[i + 3].str;
      p.node.region = r.elements[i + 4].str;
      lost.push_back(std::move(p));
    }
    co_return lost;
  }

  Task<Swept> async_sweep(int max) override {
    std::vector<std::string> args =
        eval_with_registry(o_.prefix, scripts().sweep, {o_.prefix + "epoch"});
    args.push_back(std::to_string(o_.node_ttl.count()));
    args.push_back(std::to_string(o_.channel_ttl.count()));
    args.push_back(std::to_string(max));
    args.push_back(o_.nearby_regions);
    RedisReply r = co_await redis_.command(std::move(args));
    if (r.is_error()) throw PlacementError("placement script failed: " + r.str);
    Swept out;
    std::size_t i = 0;
    if (!r.elements.empty()) {
      const std::size_t n = static_cast<std::size_t>(to_int(r.elements[0].str));
      for (i = 1; i <= n && i < r.elements.size(); ++i) out.expired.push_back(r.elements[i].str);
    }
    auto& moved = out.moved;
    const std::string key_prefix = o_.prefix + "ch:";
    for (; i + 6 <= r.elements.size(); i += 6) {
      const std::string& key = r.elements[i].str;
      if (!key.starts_with(key_prefix)) continue;
      Placed p;
      try {
        p.channel_id = std::stoll(key.substr(key_prefix.size()));
        p.epoch = std::stoull(r.elements[i + 2].str);
      } catch (const std::exception&) {
        continue;
      }
      p.node.id = r.elements[i + 1].str;
      p.node.url = r.elements[i + 3].str;
      p.node.region = r.elements[i + 4].str;
      p.moved_from = r.elements[i + 5].str;
      moved.push_back(std::move(p));
    }
    if (!moved.empty()) {
      std::lock_guard lock(mu_);
      for (auto& p : moved) cache_[p.channel_id] = p;
    }
    co_return out;
  }

  Task<std::optional<Placed>> async_lookup(Id channel_id) override {
    RedisReply r;
    std::string down;
    try {
      r = co_await run(scripts().lookup, channel_key(channel_id), std::vector<std::string>());
    } catch (const RedisError& e) {
      down = e.what();
    }
    if (!down.empty()) co_return cached(channel_id, down);
    if (r.is_error()) throw PlacementError("placement script failed: " + r.str);
    co_return decode_placed(channel_id, r);
  }

  Task<bool> async_release(Id channel_id, std::uint64_t epoch) override {
    RedisReply r;
    std::string down;
    try {
      std::vector<std::string> argv{std::to_string(epoch)};
      r = co_await run(scripts().release, channel_key(channel_id), std::move(argv));
    } catch (const RedisError& e) {
      down = e.what();
    }
    if (!down.empty()) {
      // The record expires by itself (channel_ttl); a later join may still find it, which is
      // harmless: its node is checked then.
      spdlog::warn("placement release of channel {} failed: {}", channel_id, down);
      co_return false;
    }
    bool released = r.type == RedisReply::Type::integer && r.integer == 1;
    if (released) {
      std::lock_guard lock(mu_);
      if (auto it = cache_.find(channel_id); it != cache_.end() && it->second.epoch == epoch)
        cache_.erase(it);
    }
    co_return released;
  }

 private:
  Placed cached(Id channel_id, const std::string& why) {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(channel_id); it != cache_.end()) return it->second;
    throw PlacementError("placement unavailable: " + why);
  }

  std::string channel_key(Id channel) const { return o_.prefix + "ch:" + std::to_string(channel); }

  // EVAL of a script with the registry keys (and the channel's, when given).
  // `script` is one of scripts(): static, so a reference outlives the coroutine.
  Task<RedisReply> run(const std::string& script, std::string channel_key,
                       std::vector<std::string> argv) {
    std::vector<std::string> keys;
    if (!channel_key.empty()) keys = {std::move(channel_key), o_.prefix + "epoch"};
    std::vector<std::string> args = eval_with_registry(o_.prefix, script, std::move(keys));
    for (auto& a : argv) args.push_back(std::move(a));
    co_return co_await redis_.command(std::move(args));
  }

  RedisClient& redis_;
  RedisPlacementOptions o_;
  std::mutex mu_;
  std::unordered_map<Id, Placed> cache_;  // what this process placed or looked up last
  // This connection's CLIENT ID and the connect it was read on (the heartbeat's strand only).
  long long client_id_ = 0;
  std::uint64_t client_id_of_connect_ = 0;
};

}  // namespace

Task<std::vector<NodeStatus>> registry_status(RedisClient& redis) {
  const RedisPlacementOptions o;
  std::vector<std::string> args = eval_with_registry(o.prefix, scripts().status, {});
  RedisReply r = co_await redis.command(std::move(args));
  if (r.is_error()) throw RedisError("script", r.str);
  std::vector<NodeStatus> out;
  for (std::size_t i = 0; i + 4 <= r.elements.size(); i += 4) {
    NodeStatus st;
    st.node.id = r.elements[i].str;
    st.age_ms = to_int(r.elements[i + 1].str);
    decode_info(r.elements[i + 2].str, st.node);
    st.channels = to_int(r.elements[i + 3].str);
    out.push_back(std::move(st));
  }
  co_return out;
}

Task<void> request_drain(RedisClient& redis, std::string node_id) {
  const RedisPlacementOptions o;
  std::vector<std::string> args{"HSET", o.prefix + "drain", std::move(node_id), "1"};
  RedisReply r = co_await redis.command(std::move(args));
  if (r.is_error()) throw RedisError("HSET", r.str);
}

std::unique_ptr<Placement> make_redis_placement(RedisClient& redis, RedisPlacementOptions options) {
  return std::make_unique<RedisPlacement>(redis, std::move(options));
}

}  // namespace hype::cluster
