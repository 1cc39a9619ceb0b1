#include "sfu/worker_placement.hpp"

#include <algorithm>

namespace hype::sfu {

LeastLoadedPlacement::LeastLoadedPlacement(int workers)
    : load_(static_cast<std::size_t>(std::max(1, workers)), 0) {}

int LeastLoadedPlacement::place(std::uint64_t channel) {
  if (auto it = placed_.find(channel); it != placed_.end()) return it->second;
  auto best = std::min_element(load_.begin(), load_.end());  // the first of equal minima
  int w = static_cast<int>(best - load_.begin());
  ++*best;
  placed_.emplace(channel, w);
  return w;
}

std::optional<int> LeastLoadedPlacement::find(std::uint64_t channel) const {
  auto it = placed_.find(channel);
  if (it == placed_.end()) return std::nullopt;
  return it->second;
}

void LeastLoadedPlacement::release(std::uint64_t channel) {
  auto it = placed_.find(channel);
  if (it == placed_.end()) return;
  --load_[static_cast<std::size_t>(it->second)];
  placed_.erase(it);
}

}  // namespace hype::sfu
