// Measures what a probe cluster delivered. The send rate is the cluster's bytes (without the
// last packet sent) over its send span, the receive rate its bytes (without the first
// packet to arrive) over its arrival span; the result is the smaller one, reported once
// every packet sent in the cluster has been reported (received or lost) and at least
// kMinReceivedFraction of them (and kMinPackets) arrived. A cluster whose receive rate is
// far above its send rate (kMaxRecvOverSend: arrivals compressed by a burst) gives no result.
// Fixed storage for the last kSlots clusters.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace hype::rtc::bwe {

class ProbeEstimator {
 public:
  static constexpr std::size_t kSlots = 8;
  static constexpr double kMinReceivedFraction = 0.8;
  static constexpr int kMinPackets = 4;
  static constexpr double kMaxRecvOverSend = 2.0;

  void on_sent(int cluster, std::size_t bytes, std::int64_t send_us);
  // One feedback result for a packet of `cluster`; the cluster's rate when this completed it.
  std::optional<std::uint64_t> on_result(int cluster, bool received, std::size_t bytes,
                                         std::int64_t send_us, std::int64_t arrival_us);

 private:
  struct Cluster {
    int id = -1;
    int sent = 0;
    int received = 0;
    int lost = 0;
    bool done = false;
    std::uint64_t bytes = 0;
    std::int64_t first_send = 0, last_send = 0;
    std::size_t last_send_bytes = 0;
    std::int64_t first_arrival = 0, last_arrival = 0;
    std::size_t first_arrival_bytes = 0;
  };
  Cluster* slot(int cluster);
  std::array<Cluster, kSlots> clusters_{};
};

}  // namespace hype::rtc::bwe
