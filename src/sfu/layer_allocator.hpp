// Per-viewer allocation of simulcast layers (issue 15 item 3): a viewer's downlink estimate is
// spread over the streams it watches, the highest priority first, with every stream on its
// lowest live layer before any gets a higher one. Pure policy: no clock of its own, no I/O;
// the Room feeds it what it measured (each layer's recent bitrate and liveness) and applies
// the answer with the switch hysteresis below.
#pragma once

#include <cstdint>
#include <span>

namespace hype::sfu {

struct LayerRate {
  std::uint64_t bps = 0;  // measured over the last window; 0 when nothing arrived yet
  bool live = false;      // a packet arrived lately
};

struct StreamDemand {
  int priority = 0;  // higher first (a focused stream above the others, screen above camera)
  std::span<const LayerRate> layers;  // lowest quality first
  int current = -1;                   // the layer forwarded now (-1: none yet)
};

// A layer above the current one must fit with this margin (the layers' rates move with the
// picture: without it a viewer whose estimate sits at a layer's rate goes up and down).
inline constexpr double kUpMargin = 1.15;

// For each stream, the layer to forward (index into its layers) or -1 when none is live.
// `budget_bps` 0 means unknown (no estimate from this viewer): every stream gets its highest
// live layer, as without an estimator. A stream whose lowest live layer does not fit still
// gets it: a viewer always sees a picture (the lowest layer is a few hundred kbit/s).
void allocate_layers(std::uint64_t budget_bps, std::span<const StreamDemand> streams,
                     std::span<int> out);

// Whether an upward spatial switch may happen now: at most one per viewer stream every
// kUpSwitchHoldMs, unless the budget at least doubled since the last one (no flapping on a
// noisy estimate, fast recovery after a real capacity return). Down-switches are never held.
inline constexpr std::int64_t kUpSwitchHoldMs = 10'000;
bool may_switch_up(std::int64_t now_ms, std::int64_t last_up_ms, std::uint64_t budget_bps,
                   std::uint64_t budget_at_last_up_bps);

}  // namespace hype::sfu
