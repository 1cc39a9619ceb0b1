// Decides when to probe: bursts paced above the estimate whose delivered rate (measured by
// ProbeEstimator) lets the estimate jump instead of creeping up at 8 %/s.
//  - Initial: kInitialFactors x the start rate, one cluster each, at the first call.
//  - Further: a probe that came back at >= kFurtherThreshold x its target is followed by one
//    at kFurtherFactor x its result (an exponential search, up to the max or the cap).
//  - Periodic: every kPeriodicIntervalUs, when the estimate is below the max and below the
//    allocation cap (what the viewer's streams could use), and nothing was congested for
//    kQuietUs: one probe at kFurtherFactor x the estimate. This is what finds capacity that
//    came back after a drop, and what an app-limited sender (ALR) needs since its acked
//    rate caps the AIMD increase.
// A request waits kResultTimeoutUs for its result before the search gives up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "rtc/bwe/bwe_types.hpp"

namespace hype::rtc::bwe {

class ProbeController {
 public:
  static constexpr std::array<double, 2> kInitialFactors{3.0, 6.0};
  static constexpr double kFurtherThreshold = 0.7;
  static constexpr double kFurtherFactor = 2.0;
  static constexpr std::int64_t kPeriodicIntervalUs = 2'000'000;
  static constexpr std::int64_t kQuietUs = 1'000'000;
  static constexpr std::int64_t kResultTimeoutUs = 1'000'000;
  static constexpr std::int64_t kDurationUs = 15'000;
  static constexpr int kMinPackets = 5;

  ProbeController(std::uint64_t start_bps, std::uint64_t max_bps)
      : start_bps_(start_bps), max_bps_(max_bps) {}

  // The next probe to send now, if any. `estimate`: the current target; `congested_us`: the
  // last time the estimator saw overuse or heavy loss (-1: never).
  std::optional<ProbeRequest> next(std::int64_t now_us, std::uint64_t estimate,
                                   std::int64_t congested_us);
  // A cluster's measured rate.
  void on_result(int cluster_id, std::uint64_t bps, std::int64_t now_us);
  void set_max_bps(std::uint64_t bps) { max_bps_ = bps; }
  // What the allocation could use at most (0: no cap beyond the max).
  void set_allocation_cap(std::uint64_t bps) { cap_bps_ = bps; }

 private:
  std::uint64_t limit() const;
  void push(std::uint64_t target_bps);

  std::uint64_t start_bps_, max_bps_;
  std::uint64_t cap_bps_ = 0;
  bool started_ = false;
  int next_cluster_ = 0;
  std::array<std::uint64_t, 4> pending_{};  // targets queued to go out, oldest first
  std::size_t pending_count_ = 0;
  // The search: the cluster whose result decides whether to go on.
  int waiting_cluster_ = -1;
  std::uint64_t waiting_target_ = 0;
  std::int64_t waiting_since_us_ = 0;
  std::int64_t last_probe_us_ = -1;
};

}  // namespace hype::rtc::bwe
