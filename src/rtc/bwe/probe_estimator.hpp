// Measures what a probe cluster delivered. The send rate is the cluster's bytes (without the
// last packet sent) over its send span, the receive rate its bytes (without the first
// packet to arrive) over its arrival span; the result is the smaller one, reported once
// the cluster was sent whole (on_cluster_sent: feedback on its first packets can come back
// before the last ones go out) and every packet of it has been reported (received or
// lost), and at least
// kMinReceivedFraction of them (and kMinPackets) arrived. A cluster whose receive rate is
// far above its send rate (kMaxRecvOverSend: arrivals compressed by a burst) gives no result.
// The result is at most the rate the cluster was sent at (its target): a probe sent in chunks
// (the SFU's: one per 20 ms tick) reads above it over its send span, bytes of n chunks over
// n - 1 intervals, and on a path faster than the probe its arrivals read the same.
// Fixed storage for the last kSlots clusters; a cluster overwritten before every packet of it
// was reported counts as unfinished. Clusters that gave no result are counted by why.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace hype::rtc::bwe {

// Why clusters gave no result.
struct ProbeFailures {
  std::uint64_t too_few_received = 0;  // under kMinPackets or kMinReceivedFraction arrived
  std::uint64_t no_span = 0;           // sent or received all at one instant
  std::uint64_t compressed = 0;        // received above kMaxRecvOverSend x the send rate
  std::uint64_t unfinished = 0;        // overwritten before every packet was reported
};

class ProbeEstimator {
 public:
  static constexpr std::size_t kSlots = 8;
  static constexpr double kMinReceivedFraction = 0.8;
  static constexpr int kMinPackets = 4;
  static constexpr double kMaxRecvOverSend = 2.0;

  void on_sent(int cluster, std::size_t bytes, std::int64_t send_us);
  // The last packet of `cluster` went out, paced at `target_bps` (0: no cap on the result);
  // its rate if every packet was reported already.
  std::optional<std::uint64_t> on_cluster_sent(int cluster, std::uint64_t target_bps);
  // One feedback result for a packet of `cluster`; the cluster's rate when this completed it.
  std::optional<std::uint64_t> on_result(int cluster, bool received, std::size_t bytes,
                                         std::int64_t send_us, std::int64_t arrival_us);
  const ProbeFailures& failures() const { return failures_; }

 private:
  struct Cluster {
    int id = -1;
    int sent = 0;
    int received = 0;
    int lost = 0;
    bool sent_all = false;     // on_cluster_sent came
    std::uint64_t target = 0;  // ... and the rate it was sent at (0: unknown)
    bool done = false;
    std::uint64_t bytes = 0;
    std::int64_t first_send = 0, last_send = 0;
    std::size_t last_send_bytes = 0;
    std::int64_t first_arrival = 0, last_arrival = 0;
    std::size_t first_arrival_bytes = 0;
  };
  Cluster* slot(int cluster);
  // The cluster's rate once it is sent whole and every packet was reported.
  std::optional<std::uint64_t> complete(Cluster& c);
  std::array<Cluster, kSlots> clusters_{};
  ProbeFailures failures_;
};

}  // namespace hype::rtc::bwe
