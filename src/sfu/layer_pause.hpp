// Which layers of a simulcast group the publisher should encode (issue 15: "layers nobody
// watches are paused at the publisher"). Pure policy, no clock or I/O of its own: the Room
// feeds it what its watchers forward and target, and tells the publisher (a `layers` op on
// its stream connection) whenever the running set changes. docs/design/simulcast.md has the
// rule and why.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace hype::sfu {

inline constexpr std::size_t kMaxPausableLayers = 8;
// A watcher's demand when its downlink estimate is unknown: every layer (it gets the highest).
inline constexpr int kDemandTop = 1 << 16;

// The layers that must run (bit i: layer i, lowest first) for a group of `layer_count` layers
// whose watchers each forward or target at most layer `demands[w]` (-1: nothing yet, counted as
// the lowest; kDemandTop: unknown estimate). No watcher: only the lowest layer (a new watcher
// sees a picture at once). Otherwise every layer up to one above the highest demand, capped at
// the top: the next up-switch always finds a running layer, and a layer in use is never paused.
std::uint32_t wanted_layers(std::size_t layer_count, std::span<const int> demands);

// One group's running set over time: a layer is resumed the moment it is wanted, paused only
// after it went unwanted for kPauseHoldMs (a viewer going down and up again does not toggle the
// encoder), and pauses are announced at most once per kMinIntervalMs. Starts with every layer
// running (what a publisher sends before it hears anything).
class LayerPauser {
 public:
  static constexpr std::int64_t kPauseHoldMs = 5000;
  static constexpr std::int64_t kMinIntervalMs = 1000;

  explicit LayerPauser(std::size_t layer_count);
  // True when running() changed (the caller tells the publisher).
  bool update(std::uint32_t wanted, std::int64_t now_ms);
  std::uint32_t running() const { return running_; }
  bool running(std::size_t layer) const { return (running_ >> layer & 1u) != 0; }

 private:
  std::uint32_t all_;
  std::uint32_t running_;
  std::array<std::int64_t, kMaxPausableLayers> unwanted_since_{};
  std::int64_t last_change_ms_ = -1;
};

}  // namespace hype::sfu
