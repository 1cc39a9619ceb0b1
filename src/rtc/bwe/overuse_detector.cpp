#include "rtc/bwe/overuse_detector.hpp"

#include <algorithm>
#include <cmath>

namespace hype::rtc::bwe {

const char* to_string(BandwidthUsage u) {
  switch (u) {
    case BandwidthUsage::kNormal:
      return "normal";
    case BandwidthUsage::kUnderusing:
      return "underusing";
    case BandwidthUsage::kOverusing:
      return "overusing";
  }
  return "?";
}

BandwidthUsage OveruseDetector::detect(double trend, double group_delta_ms, std::size_t num_deltas,
                                       std::int64_t now_us) {
  if (num_deltas < 2 || !std::isfinite(trend)) return state_ = BandwidthUsage::kNormal;
  if (trend > threshold_) {
    time_over_ms_ = time_over_ms_ < 0 ? group_delta_ms / 2 : time_over_ms_ + group_delta_ms;
    ++overuse_count_;
    if (time_over_ms_ > kOveruseTimeMs && overuse_count_ > 1 && trend >= prev_trend_) {
      time_over_ms_ = 0;
      overuse_count_ = 0;
      state_ = BandwidthUsage::kOverusing;
    }
  } else if (trend < -threshold_) {
    time_over_ms_ = -1;
    overuse_count_ = 0;
    state_ = BandwidthUsage::kUnderusing;
  } else {
    time_over_ms_ = -1;
    overuse_count_ = 0;
    state_ = BandwidthUsage::kNormal;
  }
  prev_trend_ = trend;
  adapt(trend, now_us);
  return state_;
}

void OveruseDetector::adapt(double trend, std::int64_t now_us) {
  if (last_adapt_us_ < 0) last_adapt_us_ = now_us;
  double abs_trend = std::fabs(trend);
  if (abs_trend > threshold_ + kMaxAdaptOffset) {
    last_adapt_us_ = now_us;
    return;
  }
  double k = abs_trend < threshold_ ? kDown : kUp;
  double dt_ms =
      std::clamp(static_cast<double>(now_us - last_adapt_us_) / 1000.0, 0.0, kMaxTimeDeltaMs);
  threshold_ =
      std::clamp(threshold_ + k * (abs_trend - threshold_) * dt_ms, kMinThreshold, kMaxThreshold);
  last_adapt_us_ = now_us;
}

}  // namespace hype::rtc::bwe
