// The Coordinator on Redis (coordinator.hpp): rate-limit buckets, presence and voice states
// shared by every node of a cluster (ARCHITECTURE.md "Cluster", docs/design/cluster.md "Shared
// state on Redis"). Every operation is one Lua script, so it is atomic across nodes (a voice
// join that moves a user between channels, a user limit checked against a racing join).
//
// - Rate buckets: hash `hype:rl:<key>` {tokens, updated} with the same refill rule as the
//   in-process RateLimiter, on Redis's clock (TIME); each bucket expires once it would be full
//   again. Redis down: the bucket is taken from this node's own RateLimiter instead (budgets
//   hold per node rather than per cluster until Redis is back), never a failed request.
// - Presence: one hash per node `hype:{presence}:n:<node>` (user -> sessions on that node) and
//   a sorted set of nodes by last keepalive. A user's count is the sum over live nodes, so the
//   sessions of a node that died (no keepalive for `presence_ttl`) stop counting by
//   themselves, and its hash is deleted by the next script that sees it dead. The app calls
//   async_keepalive() once a second. Redis down: connect/disconnect answer 1/0 (this session
//   alone) and the online queries answer "nobody" rather than failing the gateway.
// - Voice states: hash `hype:{voice}:u:<user>` per user in voice, sets of users per channel
//   (`c:<id>`), per guild (`g:<id>`), of all users in voice and of channels with users. A set
//   member whose state moved elsewhere is dropped by the next read that meets it. Redis down:
//   voice operations throw RedisError (a join or leave cannot be decided; the API answers 503
//   coordination_unavailable); media in progress is not affected (the SFU keeps the last grant
//   it read, see sfu_service.hpp).
// Not yet: a voice state outlives a gateway node that died without its users leaving (they
// rejoin or leave when they reconnect elsewhere); sweeping those belongs with resume on any
// node (the API/gateway cluster work).
// Keys of one kind share a hash tag ({presence}, {voice}), so the scripts stay valid on Redis
// Cluster; the scripts name keys they derive from ids, which Redis Cluster allows within the
// declared key's slot.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cluster/coordinator.hpp"
#include "cluster/redis_client.hpp"

namespace hype::cluster {

struct RedisCoordinatorOptions {
  std::string node_id = "node-0";  // this node's row in the presence table
  // A node whose last keepalive is older than this no longer counts its sessions.
  std::chrono::milliseconds presence_ttl{15000};
};

std::unique_ptr<Coordinator> make_redis_coordinator(RedisClient& redis,
                                                    RedisCoordinatorOptions options);

}  // namespace hype::cluster
