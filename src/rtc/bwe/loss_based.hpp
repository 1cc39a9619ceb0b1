// Loss-based bound (draft-ietf-rmcat-gcc-02, 6): the fraction of packets reported lost over
// the last feedback interval(s), evaluated once at least kMinPackets were reported. Above
// kHighLoss the bound drops to target x (1 - 0.5 x loss) (at most once per
// kDecreaseIntervalUs, so one loss event is not punished per feedback); below kLowLoss it
// grows by kGrowthPerSecond and stops binding once above the delay-based estimate; in
// between it holds. A packet reported lost and received in a later feedback moves from the
// lost count back to the received one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace hype::rtc::bwe {

class LossBasedBound {
 public:
  static constexpr std::size_t kMinPackets = 20;
  static constexpr double kHighLoss = 0.10;
  static constexpr double kLowLoss = 0.02;
  static constexpr std::int64_t kDecreaseIntervalUs = 300'000;
  static constexpr double kGrowthPerSecond = 1.08;
  static constexpr std::uint64_t kGrowthSlackBpsPerSecond = 1'000;
  static constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max();

  // One feedback's newly reported packets: received, lost, and earlier losses now received.
  void on_feedback(std::size_t received, std::size_t lost, std::size_t recovered);
  // Evaluates the interval if it has enough packets; `target` is the current final
  // estimate, `delay_based` the delay-based one.
  void update(std::uint64_t target, std::uint64_t delay_based, std::int64_t now_us);
  // A probe cluster the path delivered (most of it received) at `bps`: the bound is at least
  // that. Without it a bound set by an old loss episode would hold a probed estimate back,
  // growing only kGrowthPerSecond (a viewer whose link came back would wait many seconds).
  void on_probe(std::uint64_t bps);
  std::uint64_t bound() const { return bound_; }
  double loss_fraction() const { return loss_; }

 private:
  std::size_t received_ = 0;
  std::size_t lost_ = 0;
  double loss_ = 0;
  std::uint64_t bound_ = kUnbounded;
  std::int64_t last_eval_us_ = -1;
  std::int64_t last_decrease_us_ = -1;
};

}  // namespace hype::rtc::bwe
