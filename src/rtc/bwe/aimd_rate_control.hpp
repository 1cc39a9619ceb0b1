// AIMD rate control of the delay-based estimate (draft-ietf-rmcat-gcc-02, 5.5). The
// detector's verdict drives a three-state machine: overuse -> decrease, underuse -> hold
// (let the queue drain), normal -> increase (after a hold). A decrease goes to kBeta times
// the acknowledged bitrate, at most once per RTT (clamped to [kMinDecreaseIntervalUs,
// kMaxDecreaseIntervalUs]) unless the path delivers less than half the estimate. An increase
// is multiplicative (kGrowthPerSecond) while the estimate is far from the last congestion
// point and additive near it (kPacketBits / response time, per second; response time = RTT +
// 100 ms). Increases never take the estimate above
// kAckedCapFactor x acked + kAckedCapSlackBps: nothing is claimed the path has not shown;
// probe results (set_estimate) may jump past that. And the path has shown what it delivered:
// while the delay is normal, an estimate below the acknowledged bitrate rises to it (an
// app-limited sender's media is its own probe), except within kAckedFloorHoldoffUs of a
// decrease, when the acked window still holds the rate that caused it.
#pragma once

#include <cstdint>
#include <optional>

#include "rtc/bwe/bwe_types.hpp"

namespace hype::rtc::bwe {

class AimdRateControl {
 public:
  static constexpr double kBeta = 0.85;
  static constexpr double kGrowthPerSecond = 1.08;
  static constexpr double kAckedCapFactor = 1.5;
  static constexpr std::uint64_t kAckedCapSlackBps = 10'000;
  static constexpr double kPacketBits = 1200 * 8;
  static constexpr double kMinAdditiveBpsPerSecond = 4'000;
  static constexpr std::int64_t kMinDecreaseIntervalUs = 100'000;
  static constexpr std::int64_t kMaxDecreaseIntervalUs = 300'000;
  static constexpr std::int64_t kAckedFloorHoldoffUs = 1'000'000;
  // The link capacity estimate: EWMA of the acked rate at each decrease, with a relative
  // deviation; "near" is within kNearDeviations of it.
  static constexpr double kCapacityAlpha = 0.05;
  static constexpr double kNearDeviations = 3;
  static constexpr double kInitialDeviation = 0.1;
  static constexpr double kMinDeviation = 0.02;
  static constexpr double kMaxDeviation = 0.25;

  enum class State : std::uint8_t { kHold, kIncrease, kDecrease };

  AimdRateControl(std::uint64_t min_bps, std::uint64_t max_bps, std::uint64_t start_bps);

  // One feedback's worth of input. Returns the new estimate.
  std::uint64_t update(BandwidthUsage usage, std::optional<std::uint64_t> acked_bps,
                       std::int64_t rtt_us, std::int64_t now_us);
  // A probe (or the caller) measured this much: jump to it (clamped).
  void set_estimate(std::uint64_t bps, std::int64_t now_us);
  void set_max_bps(std::uint64_t max_bps);
  std::uint64_t estimate() const { return estimate_; }
  State state() const { return state_; }
  std::optional<double> capacity_bps() const {
    return has_capacity_ ? std::optional<double>(capacity_bps_) : std::nullopt;
  }

 private:
  void note_capacity(double acked);
  std::uint64_t clamp(double bps) const;

  std::uint64_t min_bps_, max_bps_;
  std::uint64_t estimate_;
  State state_ = State::kIncrease;
  std::int64_t last_update_us_ = -1;
  std::int64_t last_decrease_us_ = -1;
  bool has_capacity_ = false;
  double capacity_bps_ = 0;
  double deviation_ = kInitialDeviation;
};

}  // namespace hype::rtc::bwe
