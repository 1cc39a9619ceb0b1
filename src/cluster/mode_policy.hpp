// Per-channel voice transport with hysteresis (no I/O, no clock of its own). The pure rule;
// ModeCoordinator (mode_coordinator.hpp) owns its state for a node or a cluster.
// voice.mode p2p or sfu: fixed. auto: a channel starts in P2P and switches to the SFU as soon
// as its participant count exceeds p2p_max_users; it goes back to P2P only after the count
// stayed at or below p2p_max_users - 2 for return_delay_ms without interruption. An empty
// channel is forgotten (back to P2P). Not thread safe: the owner serializes calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/ids.hpp"

namespace hype::cluster {

enum class VoiceMode { p2p, sfu };

const char* mode_name(VoiceMode m);

struct ModeChange {
  Id channel_id = 0;
  VoiceMode mode = VoiceMode::p2p;
};

class ModePolicy {
 public:
  struct Options {
    std::string mode = "auto";  // auto | p2p | sfu
    int p2p_max_users = 8;
    std::int64_t return_delay_ms = 60000;
  };

  explicit ModePolicy(Options o);

  // The channel now has `count` participants. Returns the new mode when it changed.
  std::optional<VoiceMode> on_count(Id channel_id, int count, std::int64_t now_ms);
  // Channels whose return delay has run out go back to P2P.
  std::vector<ModeChange> tick(std::int64_t now_ms);
  VoiceMode mode(Id channel_id) const;
  // Channels with state (auto mode, not empty).
  std::size_t tracked() const { return channels_.size(); }

 private:
  struct State {
    VoiceMode mode = VoiceMode::p2p;
    std::optional<std::int64_t> low_since;  // count <= p2p_max_users - 2 since then (SFU only)
  };
  bool fixed() const { return fixed_.has_value(); }
  bool due(const State& s, std::int64_t now_ms) const;

  Options o_;
  std::optional<VoiceMode> fixed_;
  std::unordered_map<Id, State> channels_;
};

}  // namespace hype::cluster
