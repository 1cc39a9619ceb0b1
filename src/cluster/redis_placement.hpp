// Placement on Redis: the SFU node registry and channel -> node decisions shared by every API
// node of a cluster (ARCHITECTURE.md "Cluster", docs/design/cluster.md "Placement on Redis").
//
// - Registry: each SFU node announces itself every second (a heartbeat: url, region, capacity,
//   participants, draining). A node whose last heartbeat is older than `node_ttl` (3 s) is
//   gone: the next placement forgets it, and channels placed on it are placed again.
// - Placement: one Lua script, so two API nodes racing for one channel agree: the channel's
//   record if its node is alive, else the least-loaded live node (fewest placed channels, then
//   fewest participants) of the requested region, else of any region; nodes at capacity or
//   draining take no new channels. Every new decision takes a fresh epoch (a counter in Redis).
// - Release is compare-and-set on the epoch; a channel record also expires (`channel_ttl`)
//   if nobody releases it.
// - Redis down: place() answers a channel placed before from this process's cache (joins to
//   running channels keep working), and throws PlacementError for a new one; the heartbeat
//   and release fail quietly and are retried by their callers' next tick.
// Keys share the hash tag {sfu} (one slot: the scripts stay valid on Redis Cluster).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cluster/placement.hpp"
#include "cluster/redis_client.hpp"

namespace hype::cluster {

struct RedisPlacementOptions {
  std::string prefix = "hype:{sfu}:";
  std::chrono::milliseconds node_ttl{3000};
  std::chrono::seconds channel_ttl{86400};
  // Each region's nearest others for the sweep's moves: "eu=us,ap;us=eu" (cluster.
  // nearby_regions as format_nearby_regions writes it). Empty: the same region, then any.
  std::string nearby_regions;
};

std::unique_ptr<Placement> make_redis_placement(RedisClient& redis,
                                                RedisPlacementOptions options = {});

// One registered SFU node as the registry sees it (`hype cluster status`).
struct NodeStatus {
  SfuNode node;
  int channels = 0;      // channels placed on it
  long long age_ms = 0;  // since its last heartbeat
};
// Every node in the registry (default prefix), live or not yet expired, by id. Throws
// RedisError.
Task<std::vector<NodeStatus>> registry_status(RedisClient& redis);
// Asks the node to drain (`hype sfu drain`): its next heartbeat takes the request and it drains
// as on SIGTERM (its channels move make before break, then it exits). Throws RedisError.
Task<void> request_drain(RedisClient& redis, std::string node_id);

}  // namespace hype::cluster
