// ModeCoordinator: the state behind the voice mode rule (mode_policy.hpp), per channel: which
// transport the channel uses and since when its count has been low. In a cluster the joins and
// leaves of one channel arrive on several API nodes, so this is shared state like the voice
// states themselves: LocalModeCoordinator in memory for one process, the Redis one
// (redis_mode_coordinator.hpp) for a cluster.
//
// The return delay needs a clock that runs without joins or leaves: whoever wires the voice
// service runs a ticker (src/app, once a second) that calls async_tick. A shared backend hands
// each due channel to exactly one caller (the change is claimed atomically), so a cluster of
// tickers announces each change once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "cluster/coordinator.hpp"
#include "cluster/mode_policy.hpp"

namespace hype::cluster {

struct ModeUpdate {
  Id channel_id = 0;
  Id guild_id = 0;
  VoiceMode mode = VoiceMode::p2p;
};

class ModeCoordinator {
 public:
  virtual ~ModeCoordinator() = default;
  // The channel (in `guild_id`) now has `count` participants. Returns the change to announce.
  virtual Task<std::optional<ModeUpdate>> async_on_count(Id channel_id, Id guild_id, int count,
                                                         std::int64_t now_ms) = 0;
  virtual Task<VoiceMode> async_mode(Id channel_id) = 0;
  // Channels whose return delay ran out go back to P2P; returns them, to announce.
  virtual Task<std::vector<ModeUpdate>> async_tick(std::int64_t now_ms) = 0;

  // Blocking forms for the blocking pool (see coordinator.hpp).
  std::optional<ModeUpdate> on_count(Id channel_id, Id guild_id, int count, std::int64_t now_ms) {
    return wait(async_on_count(channel_id, guild_id, count, now_ms));
  }
  VoiceMode mode(Id channel_id) { return wait(async_mode(channel_id)); }
  std::vector<ModeUpdate> tick(std::int64_t now_ms) { return wait(async_tick(now_ms)); }
};

std::unique_ptr<ModeCoordinator> make_local_mode_coordinator(ModePolicy::Options options);

}  // namespace hype::cluster
