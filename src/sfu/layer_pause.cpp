#include "sfu/layer_pause.hpp"

#include <algorithm>

namespace hype::sfu {

namespace {
std::uint32_t mask_up_to(std::size_t top) {
  return top + 1 >= 32 ? ~0u : (1u << (top + 1)) - 1u;
}
}  // namespace

std::uint32_t wanted_layers(std::size_t layer_count, std::span<const int> demands) {
  const std::size_t n = std::min(layer_count, kMaxPausableLayers);
  if (n == 0) return 0;
  if (demands.empty()) return 1u;
  int highest = 0;
  for (int d : demands) highest = std::max(highest, d);
  const auto top = static_cast<std::size_t>(highest >= kDemandTop ? kDemandTop : highest + 1);
  return mask_up_to(std::min(top, n - 1));
}

LayerPauser::LayerPauser(std::size_t layer_count)
    : all_(mask_up_to(std::clamp<std::size_t>(layer_count, 1, kMaxPausableLayers) - 1)),
      running_(all_) {
  unwanted_since_.fill(-1);
}

bool LayerPauser::update(std::uint32_t wanted, std::int64_t now_ms) {
  wanted &= all_;
  std::uint32_t next = running_ | wanted;  // resumed at once
  for (std::size_t i = 0; i < kMaxPausableLayers; ++i) {
    const std::uint32_t bit = 1u << i;
    if ((all_ & bit) == 0) break;
    if (wanted & bit) {
      unwanted_since_[i] = -1;
      continue;
    }
    if (unwanted_since_[i] < 0) unwanted_since_[i] = now_ms;
    if ((running_ & bit) && now_ms - unwanted_since_[i] >= kPauseHoldMs) next &= ~bit;
  }
  if (next == running_) return false;
  const bool resumes = (next & ~running_) != 0;
  // Pauses alone wait for the interval (they go out with the next change); resumes never wait.
  if (!resumes && last_change_ms_ >= 0 && now_ms - last_change_ms_ < kMinIntervalMs) return false;
  running_ = next;
  last_change_ms_ = now_ms;
  return true;
}

}  // namespace hype::sfu
