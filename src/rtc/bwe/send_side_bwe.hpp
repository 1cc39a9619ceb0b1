// The send-side bandwidth estimator of one transport (one viewer's downlink), after
// draft-ietf-rmcat-gcc-02 with transport-wide CC feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01). The sender reports every packet it
// stamps with a transport-wide sequence number (on_packet_sent) and every parsed feedback
// (on_feedback); the estimator matches them in its SendHistory and combines:
//   - the delay-based estimate: InterArrival groups -> Trendline -> OveruseDetector ->
//     AimdRateControl (acknowledged bitrate from AckedBitrate as the reference);
//   - the loss-based bound (LossBasedBound);
//   - probing: ProbeController asks for clusters, ProbeEstimator measures them, and a result
//     above the estimate makes it jump.
// target_bps() = clamp(min(delay-based, loss bound), min, max). Feedback for unknown, too
// old or already reported sequence numbers is ignored; reordered and duplicated feedback and
// 16-bit wrap are fine. No clock, no I/O, no allocation after construction: the history is
// a fixed ring (about 200 KB per instance, so own it behind a pointer). docs/design/bwe.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "rtc/bwe/acked_bitrate.hpp"
#include "rtc/bwe/aimd_rate_control.hpp"
#include "rtc/bwe/bwe_types.hpp"
#include "rtc/bwe/inter_arrival.hpp"
#include "rtc/bwe/loss_based.hpp"
#include "rtc/bwe/overuse_detector.hpp"
#include "rtc/bwe/probe_controller.hpp"
#include "rtc/bwe/probe_estimator.hpp"
#include "rtc/bwe/send_history.hpp"
#include "rtc/bwe/trendline.hpp"
#include "rtc/rtcp/twcc.hpp"

namespace hype::rtc::bwe {

struct BweOptions {
  std::uint64_t min_bps = 30'000;
  std::uint64_t start_bps = 300'000;
  std::uint64_t max_bps = 20'000'000;
  bool probing = true;  // false: next_probe() never asks (the sender cannot probe)
};

// Counts for metrics and tests.
struct BweStats {
  std::uint64_t feedbacks = 0;         // on_feedback calls
  std::uint64_t useful_feedbacks = 0;  // ... that carried something new
  std::uint64_t results = 0;           // per-packet results seen
  std::uint64_t ignored = 0;           // unknown, too old or already reported
  std::uint64_t probe_results = 0;     // probe clusters measured
};

class SendSideBwe {
 public:
  // RTT assumed until feedback gives one.
  static constexpr std::int64_t kDefaultRttUs = 100'000;
  static constexpr std::int64_t kMaxRttUs = 2'000'000;
  static constexpr double kRttSmoothing = 0.9;
  // Feedback that reports packets past a gap of unreported ones (an earlier feedback late or
  // lost) updates the rate only once the gap is filled, or after this long: until then the
  // acked window lacks the gap's bytes and would read low.
  static constexpr std::int64_t kMaxGapWaitUs = 250'000;

  explicit SendSideBwe(BweOptions options = {});

  // A packet went out under transport-wide sequence `seq`, `bytes` long (as on the wire),
  // in probe cluster `probe_cluster` (-1: not a probe).
  void on_packet_sent(std::uint16_t seq, std::size_t bytes, std::int64_t send_us,
                      int probe_cluster = -1);
  // The last packet of probe cluster `cluster` went out, paced at `target_bps` (its result
  // waits for this, and is at most that).
  void on_probe_sent(int cluster, std::uint64_t target_bps, std::int64_t now_us);
  // One parsed TWCC feedback. Returns whether it carried anything new.
  bool on_feedback(std::span<const rtcp::TwccPacketResult> results, std::int64_t now_us);
  // A probe to send now, if any (call it before pacing the next packets).
  std::optional<ProbeRequest> next_probe(std::int64_t now_us);

  void set_max_bps(std::uint64_t max_bps);
  // The most the viewer's allocation could use: probing stops above it (0: no cap).
  void set_allocation_cap(std::uint64_t bps) { probes_.set_allocation_cap(bps); }

  std::uint64_t target_bps() const { return target_bps_; }
  BandwidthUsage state() const { return detector_.state(); }
  double loss_fraction() const { return loss_.loss_fraction(); }
  std::uint64_t acked_bps() const { return acked_.bps().value_or(0); }
  std::uint64_t delay_based_bps() const { return aimd_.estimate(); }
  std::uint64_t loss_bound_bps() const { return loss_.bound(); }
  std::int64_t rtt_us() const { return rtt_us_; }
  // Whether any feedback has been used yet (before that, target_bps() is the start rate).
  bool has_feedback() const { return stats_.useful_feedbacks > 0; }
  const BweStats& stats() const { return stats_; }
  const ProbeFailures& probe_failures() const { return probe_estimator_.failures(); }

 private:
  void update_target();
  // A probe cluster's measured rate: the estimate jumps to it.
  void take_probe_result(int cluster, std::uint64_t bps, std::int64_t now_us);
  // Advances reported_through_ over what has been reported; true when a gap remains.
  bool reporting_gap();

  BweOptions opt_;
  SendHistory history_;
  AckedBitrate acked_;
  InterArrival groups_;
  Trendline trendline_;
  OveruseDetector detector_;
  AimdRateControl aimd_;
  LossBasedBound loss_;
  ProbeController probes_;
  ProbeEstimator probe_estimator_;
  BweStats stats_;
  std::uint64_t target_bps_;
  std::int64_t rtt_us_ = kDefaultRttUs;
  bool has_rtt_ = false;
  std::int64_t congested_us_ = -1;
  std::int64_t reported_through_ = -1;  // unwrapped: every packet up to it was reported
  std::int64_t max_reported_ = -1;      // unwrapped: the newest packet reported
  std::int64_t gap_since_us_ = -1;      // when the current gap was first seen
  // One feedback's newly received packets, as history slots, sorted by send time.
  std::array<SentPacket*, SendHistory::kCapacity> scratch_{};
};

}  // namespace hype::rtc::bwe
