// ModeCoordinator on Redis (mode_coordinator.hpp): the voice mode rule of ModePolicy
// (mode_policy.hpp) with its per-channel state in Redis, so every API node of a cluster sees
// one state: a join counted on one node and a leave on another move the same channel.
//
// - voice.mode p2p or sfu: fixed, answered in process; Redis is never asked.
// - auto: only channels in SFU mode have state (a P2P channel with participants behaves as an
//   unknown one, as in ModePolicy): a hash `<prefix><channel>` (mode, guild, low_since), and
//   the sorted set `<prefix>due` of channels counting down their return delay, scored by the
//   time the delay runs out (low_since + return_delay_ms).
// - async_on_count is one Lua script (atomic): the same steps as ModePolicy::on_count. Going
//   back to P2P (return delay over, or the channel empty) deletes the hash and its due entry.
// - async_tick reads the due entries up to now (ZRANGEBYSCORE: usually empty, one round trip
//   a tick) and hands them to one script that, per channel, checks again that its delay ran out
//   and flips it to P2P: each change is claimed by exactly one of the cluster's tickers.
// - async_mode is one HGET.
// - Times are the `now_ms` the callers pass (their wall clocks: the nodes' clocks must roughly
//   agree, an offset between them shifts the return delay by as much).
// - Keys share the hash tag {voice} (one slot, valid on Redis Cluster; the scripts name every
//   key they touch). The scripts own the keys: a channel's hash is deleted when the channel
//   goes back to P2P or empties, and every write renews a TTL (`state_ttl`) on the hash and on
//   the due set, so state of a cluster that went away (no leave ever counted) expires. A
//   channel that stays in SFU mode longer than `state_ttl` without any join or leave loses its
//   state and reads as P2P until its next count.
// - Redis down or slow: every auto-mode call throws RedisError (code unavailable, timeout or
//   overloaded) from the awaitable and the blocking form alike; nothing is cached or queued.
//   The caller sees its join or leave fail to update the mode (log it; the next count of the
//   channel brings the state in line, since the rule only needs the current count) and the
//   ticker's tick fail (it tries again on its next tick).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cluster/mode_coordinator.hpp"
#include "cluster/redis_client.hpp"

namespace hype::cluster {

struct RedisModeOptions {
  std::string prefix = "hype:{voice}:mode:";
  std::chrono::seconds state_ttl{7 * 86400};
  std::size_t tick_batch = 100;  // due channels one tick hands out at most (the rest: next tick)
};

std::unique_ptr<ModeCoordinator> make_redis_mode_coordinator(RedisClient& client,
                                                             ModePolicy::Options options,
                                                             RedisModeOptions redis_options = {});

}  // namespace hype::cluster
