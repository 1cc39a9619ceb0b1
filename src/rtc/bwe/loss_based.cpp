#include "rtc/bwe/loss_based.hpp"

#include <algorithm>
#include <cmath>

namespace hype::rtc::bwe {

void LossBasedBound::on_feedback(std::size_t received, std::size_t lost, std::size_t recovered) {
  received_ += received + recovered;
  lost_ += lost;
  lost_ -= std::min(lost_, recovered);
}

void LossBasedBound::update(std::uint64_t target, std::uint64_t delay_based, std::int64_t now_us) {
  std::size_t total = received_ + lost_;
  if (total < kMinPackets) return;
  loss_ = static_cast<double>(lost_) / static_cast<double>(total);
  received_ = lost_ = 0;
  double dt_s = last_eval_us_ < 0
                    ? 0.0
                    : std::clamp(static_cast<double>(now_us - last_eval_us_) / 1e6, 0.0, 1.0);
  last_eval_us_ = now_us;
  if (loss_ > kHighLoss) {
    if (last_decrease_us_ >= 0 && now_us - last_decrease_us_ < kDecreaseIntervalUs) return;
    auto base = static_cast<double>(std::min(bound_, target));
    bound_ = static_cast<std::uint64_t>(base * (1 - 0.5 * loss_));
    last_decrease_us_ = now_us;
  } else if (loss_ < kLowLoss && bound_ != kUnbounded) {
    double grown = static_cast<double>(bound_) * std::pow(kGrowthPerSecond, dt_s) +
                   static_cast<double>(kGrowthSlackBpsPerSecond) * dt_s;
    bound_ =
        grown >= static_cast<double>(delay_based) ? kUnbounded : static_cast<std::uint64_t>(grown);
  }
}

void LossBasedBound::on_probe(std::uint64_t bps) {
  if (bound_ != kUnbounded && bps > bound_) bound_ = bps;
}

}  // namespace hype::rtc::bwe
