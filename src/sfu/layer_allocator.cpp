#include "sfu/layer_allocator.hpp"

#include <algorithm>
#include <array>
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
}  // namespace

void allocate_layers(std::uint64_t budget_bps, std::span<const StreamDemand> streams,
                     std::span<int> out) {
  const std::size_t n = std::min({streams.size(), out.size(), kMaxStreams});
  for (std::size_t i = n; i < out.size(); ++i) out[i] = -1;
  if (budget_bps == 0) {
    for (std::size_t i = 0; i < n; ++i) out[i] = highest_live(streams[i]);
    return;
  }
  // Priority order, stable: equal priorities keep the caller's order.
  std::array<std::size_t, kMaxStreams> order{};
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(
      order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
      [&](std::size_t a, std::size_t b) { return streams[a].priority > streams[b].priority; });
  // Every stream at its lowest live layer first.
  std::uint64_t used = 0;
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = order[k];
    out[i] = lowest_live(streams[i]);
    if (out[i] >= 0) used += streams[i].layers[static_cast<std::size_t>(out[i])].bps;
  }
  // Then, by priority, the highest live layer that fits in what is left.
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = order[k];
    if (out[i] < 0) continue;
    const auto& layers = streams[i].layers;
    std::uint64_t have = layers[static_cast<std::size_t>(out[i])].bps;
    for (std::size_t l = layers.size(); l-- > static_cast<std::size_t>(out[i]) + 1;) {
      if (!layers[l].live) continue;
      std::uint64_t need = layers[l].bps;
      if (static_cast<int>(l) > streams[i].current)
        need = static_cast<std::uint64_t>(static_cast<double>(need) * kUpMargin);
      std::uint64_t extra = need > have ? need - have : 0;
      if (used + extra <= budget_bps) {
        out[i] = static_cast<int>(l);
        used += extra;
        break;
      }
    }
  }
}

bool may_switch_up(std::int64_t now_ms, std::int64_t last_up_ms, std::uint64_t budget_bps,
                   std::uint64_t budget_at_last_up_bps) {
  // The last up-switch was made without an estimate (forwarding the highest live layer):
  // nothing noisy to hold against.
  if (last_up_ms < 0 || budget_at_last_up_bps == 0 || now_ms - last_up_ms >= kUpSwitchHoldMs)
    return true;
  return budget_bps != 0 && budget_at_last_up_bps != 0 && budget_bps >= 2 * budget_at_last_up_bps;
}

}  // namespace hype::sfu
