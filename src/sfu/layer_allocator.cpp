#include "sfu/layer_allocator.hpp"

#include <algorithm>
#include <cstddef>

namespace hype::sfu {

namespace {
constexpr std::size_t kMaxStreams = 32;

int lowest_live(const StreamDemand& s) {
  for (std::size_t i = 0; i < s.layers.size(); ++i)
    if (s.layers[i].live) return static_cast<int>(i);
  return -1;
}

int highest_live(const StreamDemand& s) {
  for (std::size_t i = s.layers.size(); i-- > 0;)
    if (s.layers[i].live) return static_cast<int>(i);
  return -1;
}

// The temporal layers worth choosing between in a layer (at most kMaxTemporalLayers).
int temporal_steps(const LayerRate& l) {
  return std::clamp(l.temporal_layers, 1, static_cast<int>(kMaxTemporalLayers));
}

// Whether a temporal step may be forwarded: the whole layer always; a lower step when its
// frame rate is not known to be below kMinTemporalFps, nor to make a freeze of the drop from
// the whole layer's rate (kFreezeMarginMs).
bool offered(const LayerRate& l, int temporal, bool current = false) {
  const int top = temporal_steps(l) - 1;
  if (temporal < 0 || temporal >= top) return true;
  const double fps = l.temporal_fps[static_cast<std::size_t>(temporal)];
  if (fps <= 0) return true;
  if (fps < kMinTemporalFps) return false;
  const double whole = l.temporal_fps[static_cast<std::size_t>(top)];
  if (whole <= 0) return true;
  const double interval = 1000.0 / whole;
  // The step a viewer is on keeps a little slack, so a measured frame rate at the line does
  // not move it on and off.
  const double margin = current ? kFreezeMarginMs - kFreezeHysteresisMs : kFreezeMarginMs;
  return 1000.0 / fps <= std::max(3 * interval, interval + 150.0) - margin;
}

// Steps in order: (spatial, temporal), temporal -1 standing for the top.
bool above(const StreamDemand& s, int spatial, int temporal) {
  if (s.current < 0) return true;
  if (spatial != s.current) return spatial > s.current;
  const int top = temporal_steps(s.layers[static_cast<std::size_t>(spatial)]) - 1;
  const int t = temporal < 0 ? top : temporal;
  const int cur = s.current_temporal < 0 ? top : s.current_temporal;
  return t > cur;
}
}  // namespace

void allocate_layers(std::uint64_t budget_bps, std::span<const StreamDemand> streams,
                     std::span<LayerChoice> out) {
  const std::size_t n = std::min({streams.size(), out.size(), kMaxStreams});
  for (std::size_t i = n; i < out.size(); ++i) out[i] = {};
  if (budget_bps == 0) {
    for (std::size_t i = 0; i < n; ++i) out[i] = {highest_live(streams[i]), -1};
    return;
  }
  // Priority order, stable: equal priorities keep the caller's order.
  std::array<std::size_t, kMaxStreams> order{};
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(
      order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
      [&](std::size_t a, std::size_t b) { return streams[a].priority > streams[b].priority; });
  // Every stream at its lowest step first.
  std::uint64_t used = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = order[k];
    const int low = lowest_live(streams[i]);
    out[i] = {low, -1};
    if (low < 0) continue;
    const LayerRate& l = streams[i].layers[static_cast<std::size_t>(low)];
    out[i].temporal =
        lowest_temporal_step(l, low == streams[i].current ? streams[i].current_temporal : kNoStep);
    used += step_bps(l, out[i].temporal);
  }
  // Then, by priority, the highest step that fits in what is left: the whole of the highest
  // allowed live layer, then its temporal layers from the top down, then the layer below.
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = order[k];
    const StreamDemand& s = streams[i];
    if (out[i].spatial < 0) continue;
    const std::uint64_t have =
        step_bps(s.layers[static_cast<std::size_t>(out[i].spatial)], out[i].temporal);
    bool done = false;
    for (std::size_t li = s.layers.size();
         !done && li-- > static_cast<std::size_t>(out[i].spatial);) {
      const LayerRate& l = s.layers[li];
      const int spatial = static_cast<int>(li);
      if (!l.live) continue;
      if (spatial != out[i].spatial && li < 32 && !(s.allowed & (1u << li))) continue;
      const int steps = temporal_steps(l);
      for (int j = steps - 1; j >= 0; --j) {
        const int temporal = j == steps - 1 ? -1 : j;
        if (spatial == out[i].spatial && j <= (out[i].temporal < 0 ? steps - 1 : out[i].temporal))
          break;  // down to what it has already
        if (!offered(l, temporal, spatial == s.current && temporal == s.current_temporal)) continue;
        std::uint64_t need = step_bps(l, temporal);
        if (above(s, spatial, temporal))
          need = static_cast<std::uint64_t>(static_cast<double>(need) * kUpMargin);
        const std::uint64_t extra = need > have ? need - have : 0;
        if (used + extra <= budget_bps) {
          out[i] = {spatial, temporal};
          used += extra;
          done = true;
          break;
        }
      }
    }
  }
}

std::uint64_t step_bps(const LayerRate& l, int temporal) {
  if (temporal < 0 || temporal >= temporal_steps(l) - 1) return l.bps;
  return l.temporal_bps[static_cast<std::size_t>(temporal)];
}

int lowest_temporal_step(const LayerRate& l, int current) {
  for (int t = 0; t < temporal_steps(l) - 1; ++t)
    if (offered(l, t, t == current)) return t;
  return -1;
}

bool may_switch_up(std::int64_t now_ms, std::int64_t last_switch_ms, std::uint64_t budget_bps,
                   std::uint64_t budget_at_last_switch_bps, std::int64_t hold_ms) {
  // The last switch was made without an estimate (forwarding the highest live layer):
  // nothing noisy to hold against.
  if (last_switch_ms < 0 || budget_at_last_switch_bps == 0 || now_ms - last_switch_ms >= hold_ms)
    return true;
  return budget_bps != 0 && budget_bps >= 2 * budget_at_last_switch_bps;
}

}  // namespace hype::sfu
