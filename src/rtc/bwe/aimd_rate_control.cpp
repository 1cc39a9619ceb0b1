#include "rtc/bwe/aimd_rate_control.hpp"

#include <algorithm>
#include <cmath>

namespace hype::rtc::bwe {

AimdRateControl::AimdRateControl(std::uint64_t min_bps, std::uint64_t max_bps,
                                 std::uint64_t start_bps)
    : min_bps_(min_bps), max_bps_(std::max(min_bps, max_bps)) {
  estimate_ = clamp(static_cast<double>(start_bps));
}

std::uint64_t AimdRateControl::clamp(double bps) const {
  if (!std::isfinite(bps) || bps < static_cast<double>(min_bps_)) return min_bps_;
  if (bps > static_cast<double>(max_bps_)) return max_bps_;
  return static_cast<std::uint64_t>(bps);
}

void AimdRateControl::set_max_bps(std::uint64_t max_bps) {
  max_bps_ = std::max(min_bps_, max_bps);
  estimate_ = std::min(estimate_, max_bps_);
}

void AimdRateControl::set_estimate(std::uint64_t bps, std::int64_t now_us) {
  estimate_ = clamp(static_cast<double>(bps));
  if (has_capacity_ &&
      static_cast<double>(estimate_) > capacity_bps_ * (1 + kNearDeviations * deviation_)) {
    has_capacity_ = false;  // the path changed: the old congestion point means nothing
  }
  last_update_us_ = now_us;
}

void AimdRateControl::note_capacity(double acked) {
  if (!has_capacity_ || acked < capacity_bps_ * (1 - kNearDeviations * deviation_)) {
    has_capacity_ = true;
    capacity_bps_ = acked;
    deviation_ = kInitialDeviation;
    return;
  }
  capacity_bps_ = (1 - kCapacityAlpha) * capacity_bps_ + kCapacityAlpha * acked;
  double rel = std::fabs(acked - capacity_bps_) / std::max(capacity_bps_, 1.0);
  deviation_ = std::clamp((1 - kCapacityAlpha) * deviation_ + kCapacityAlpha * rel, kMinDeviation,
                          kMaxDeviation);
}

std::uint64_t AimdRateControl::update(BandwidthUsage usage, std::optional<std::uint64_t> acked,
                                      std::int64_t rtt_us, std::int64_t now_us) {
  double dt_s = 0;
  if (last_update_us_ >= 0) {
    dt_s = std::clamp(static_cast<double>(now_us - last_update_us_) / 1e6, 0.0, 1.0);
  }
  last_update_us_ = now_us;

  switch (usage) {
    case BandwidthUsage::kOverusing:
      state_ = State::kDecrease;
      break;
    case BandwidthUsage::kUnderusing:
      state_ = State::kHold;
      break;
    case BandwidthUsage::kNormal:
      if (state_ != State::kIncrease) state_ = State::kIncrease;
      break;
  }

  double cur = static_cast<double>(estimate_);
  if (state_ == State::kIncrease && acked) {
    auto a = static_cast<double>(*acked);
    if (has_capacity_ && cur > capacity_bps_ * (1 + kNearDeviations * deviation_)) {
      has_capacity_ = false;
    }
    double next = cur;
    if (has_capacity_ && cur >= capacity_bps_ * (1 - kNearDeviations * deviation_)) {
      double response_s = static_cast<double>(rtt_us) / 1e6 + 0.1;
      double per_s = std::max(kPacketBits / response_s, kMinAdditiveBpsPerSecond);
      next = cur + per_s * dt_s;
    } else {
      next = cur * std::pow(kGrowthPerSecond, dt_s);
    }
    double cap = kAckedCapFactor * a + static_cast<double>(kAckedCapSlackBps);
    next = std::min(next, std::max(cur, cap));
    if (a > next && (last_decrease_us_ < 0 || now_us - last_decrease_us_ >= kAckedFloorHoldoffUs)) {
      next = a;
    }
    estimate_ = clamp(next);
  } else if (state_ == State::kDecrease) {
    std::int64_t interval = std::clamp(rtt_us, kMinDecreaseIntervalUs, kMaxDecreaseIntervalUs);
    double a = acked ? static_cast<double>(*acked) : cur;
    bool due = last_decrease_us_ < 0 || now_us - last_decrease_us_ >= interval || a < cur / 2;
    if (due) {
      double next = std::min(kBeta * a, cur);
      note_capacity(a);
      estimate_ = clamp(next);
      last_decrease_us_ = now_us;
    }
    // Let the queue drain before growing again (draft 5.5: decrease is followed by hold).
    state_ = State::kHold;
  }
  return estimate_;
}

}  // namespace hype::rtc::bwe
