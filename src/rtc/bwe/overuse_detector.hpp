// Overuse detector with an adaptive threshold (draft-ietf-rmcat-gcc-02, 5.4 and 5.6). The
// trend is compared with +-threshold: above it for longer than kOveruseTimeMs and over more
// than one group, while not falling, is overuse; below -threshold is underuse. The threshold
// follows |trend| (up slowly with kUp, down faster with kDown, per ms), so that a path whose
// delay naturally wobbles does not starve against a loss-based competitor, clamped to
// [kMinThreshold, kMaxThreshold]. Spikes far above it (> kMaxAdaptOffset) do not move it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtc/bwe/bwe_types.hpp"

namespace hype::rtc::bwe {

class OveruseDetector {
 public:
  static constexpr double kInitialThreshold = 12.5;
  static constexpr double kUp = 0.0087;
  static constexpr double kDown = 0.039;
  static constexpr double kMinThreshold = 6;
  static constexpr double kMaxThreshold = 600;
  static constexpr double kMaxAdaptOffset = 15;
  static constexpr double kMaxTimeDeltaMs = 100;
  static constexpr double kOveruseTimeMs = 10;

  // `trend`: Trendline::modified_trend(); `group_delta_ms`: the arrival delta of the group
  // that produced it; `num_deltas`: how many groups the trendline has seen.
  BandwidthUsage detect(double trend, double group_delta_ms, std::size_t num_deltas,
                        std::int64_t now_us);
  BandwidthUsage state() const { return state_; }
  double threshold() const { return threshold_; }

 private:
  void adapt(double trend, std::int64_t now_us);

  BandwidthUsage state_ = BandwidthUsage::kNormal;
  double threshold_ = kInitialThreshold;
  double time_over_ms_ = -1;
  int overuse_count_ = 0;
  double prev_trend_ = 0;
  std::int64_t last_adapt_us_ = -1;
};

}  // namespace hype::rtc::bwe
