// Per-viewer allocation of simulcast layers (issue 15 item 3): a viewer's downlink estimate is
// spread over the streams it watches, the highest priority first, with every stream on its
// lowest live layer before any gets a higher one. Within a spatial layer its temporal layers
// (VP8 TID: T0 alone, T0+T1, all) are steps of their own, taken before the spatial layer
// below: dropping a temporal layer needs no keyframe and keeps the resolution. Pure policy:
// no clock of its own, no I/O; the Room feeds it what it measured (each layer's recent
// bitrate, per temporal layer, and liveness) and applies the answer with the switch
// hysteresis below.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace hype::sfu {

inline constexpr std::size_t kMaxTemporalLayers = 4;

struct LayerRate {
  std::uint64_t bps = 0;  // measured over the last window; 0 when nothing arrived yet
  bool live = false;      // a packet arrived lately
  // How many temporal layers its packets carried lately (0 or 1: none to drop) and the rate
  // of T0..Tk together for each k (the last equals bps).
  int temporal_layers = 0;
  std::array<std::uint64_t, kMaxTemporalLayers> temporal_bps{};
  // Frames per second of T0..Tk together (0: not measured).
  std::array<double, kMaxTemporalLayers> temporal_fps{};
};

// A temporal step below this frame rate is not offered (a 15 fps layer's T0 alone is 3.75
// fps: a slide show); the whole layer always is.
inline constexpr double kMinTemporalFps = 5.0;
// Nor is a step whose frame interval a viewer would count as a freeze when the whole layer
// drops to it: Chromium counts an interval over max(3 x the average, average + 150 ms)
// (freezeCount), so the step's interval must stay this much below that bound, taken at the
// whole layer's rate. A 30 fps layer keeps its T0 (133 ms against 183), a 20 fps one does not
// (200 ms against 200: the bench's 220 ms freezes at a step down to it) but keeps T0+T1.
inline constexpr double kFreezeMarginMs = 40.0;
// ... less this for the step a viewer is on (frame rates are measured in 500 ms windows and
// smoothed: a step at the line is not dropped and taken by turns).
inline constexpr double kFreezeHysteresisMs = 20.0;

// What a viewer forwards of one stream: a spatial layer (index, lowest first; -1 none) and
// the highest temporal layer of it (-1: all of them).
struct LayerChoice {
  int spatial = -1;
  int temporal = -1;
  friend bool operator==(const LayerChoice&, const LayerChoice&) = default;
};

struct StreamDemand {
  int priority = 0;  // higher first (a focused stream above the others, screen above camera)
  std::span<const LayerRate> layers;  // lowest quality first
  int current = -1;                   // the spatial layer forwarded now (-1: none yet)
  int current_temporal = -1;          // ... and its highest temporal layer (-1: all)
  // The spatial layers it may be given (bit i: layer i), e.g. not above the current one
  // while an up-switch is held; its lowest live layer is always allowed.
  std::uint32_t allowed = ~0u;
};

// The lowest temporal step of a layer that is offered (see kMinTemporalFps); -1: the whole.
// `current`: the temporal step the viewer is on in this layer (it keeps kFreezeHysteresisMs of
// slack), or kNoStep.
inline constexpr int kNoStep = -100;
int lowest_temporal_step(const LayerRate& l, int current = kNoStep);
// The rate of a step of a layer (temporal -1, or its top temporal layer: the whole layer).
std::uint64_t step_bps(const LayerRate& l, int temporal);

// A step above the current one must fit with this margin (the layers' rates move with the
// picture: without it a viewer whose estimate sits at a layer's rate goes up and down).
inline constexpr double kUpMargin = 1.15;

// For each stream, what to forward; spatial -1 when no layer is live. `budget_bps` 0 means
// unknown (no estimate from this viewer): every stream gets its highest live layer whole, as
// without an estimator. A stream whose lowest step (its lowest live layer's lowest temporal
// step at kMinTemporalFps or more) does not fit still gets it: a viewer always sees a picture.
void allocate_layers(std::uint64_t budget_bps, std::span<const StreamDemand> streams,
                     std::span<LayerChoice> out);

// Whether an upward spatial switch may happen now: not within kUpSwitchHoldMs of the viewer
// stream's last spatial switch (up, or down: a down-switch undone at once is flapping too),
// unless the budget at least doubled since (no flapping on a noisy estimate or a picture
// whose layer rates move, fast recovery after a real capacity return). Down-switches are
// never held, nor are temporal steps (no keyframe, nothing to flap but the frame rate).
// An up-switch undone by a down-switch within kFailedUpMs failed (the layer did not fit once
// its keyframe and rate arrived): the viewer's hold doubles, up to kMaxUpSwitchHoldMs, so a
// link that cannot carry the layer is not tried every 10 s with a freeze each time; it is
// back to kUpSwitchHoldMs once an up-switch has lasted that long.
inline constexpr std::int64_t kUpSwitchHoldMs = 10'000;
inline constexpr std::int64_t kFailedUpMs = 4'000;
inline constexpr std::int64_t kMaxUpSwitchHoldMs = 60'000;
bool may_switch_up(std::int64_t now_ms, std::int64_t last_switch_ms, std::uint64_t budget_bps,
                   std::uint64_t budget_at_last_switch_bps, std::int64_t hold_ms = kUpSwitchHoldMs);

}  // namespace hype::sfu
