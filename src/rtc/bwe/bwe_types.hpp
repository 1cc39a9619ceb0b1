// Types shared by the pieces of the send-side bandwidth estimator (src/rtc/bwe): the delay
// detector's verdict and a probe request. The estimator follows draft-ietf-rmcat-gcc-02
// (delay-based controller with a trendline filter, loss-based bound) fed by transport-wide
// CC feedback; docs/design/bwe.md explains the algorithm and every constant. Everything in
// this folder is pure: times come in as int64 microseconds, nothing reads a clock or does
// I/O, and nothing allocates after construction.
#pragma once

#include <cstdint>

namespace hype::rtc::bwe {

// What the delay signal says about the bottleneck queue.
enum class BandwidthUsage : std::uint8_t {
  kNormal,      // queue stable
  kUnderusing,  // queue draining
  kOverusing,   // queue growing
};

const char* to_string(BandwidthUsage u);

// A request to send a probe cluster: packets tagged `cluster_id` (pass it to
// SendSideBwe::on_packet_sent) paced at `target_bps`, at least `min_packets` of them over at
// least `min_duration_us`.
struct ProbeRequest {
  int cluster_id = 0;
  std::uint64_t target_bps = 0;
  int min_packets = 0;
  std::int64_t min_duration_us = 0;
};

}  // namespace hype::rtc::bwe
