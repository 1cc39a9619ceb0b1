#include "sfu/receive_stats.hpp"

#include <algorithm>
#include <cstdlib>

namespace hype::sfu {

void ReceiveStats::on_packet(std::uint16_t seq, std::uint32_t rtp_ts, std::int64_t arrival_us) {
  std::int64_t s = unwrap_.unwrap(seq);
  if (!started_) {
    started_ = true;
    base_seq_ = max_seq_ = s;
  } else if (s > max_seq_) {
    max_seq_ = s;
  } else if (s < base_seq_) {
    base_seq_ = s;
  }
  ++received_;
  // Transit in clock ticks; the 32-bit wrap of rtp_ts cancels out in the difference.
  std::int64_t arrival_ticks = arrival_us * clock_rate_ / 1'000'000;
  std::int64_t transit =
      static_cast<std::int32_t>(static_cast<std::uint32_t>(arrival_ticks) - rtp_ts);
  if (has_transit_) {
    double d = static_cast<double>(std::llabs(transit - last_transit_));
    jitter_ += (d - jitter_) / 16.0;
  }
  last_transit_ = transit;
  has_transit_ = true;
}

rtc::rtcp::ReportBlock ReceiveStats::make_report(std::uint32_t ssrc, std::uint32_t last_sr,
                                                 std::uint32_t delay_since_last_sr) {
  rtc::rtcp::ReportBlock b;
  b.ssrc = ssrc;
  std::int64_t expected_now = expected();
  std::int64_t expected_interval = expected_now - expected_prior_;
  std::int64_t received_interval = static_cast<std::int64_t>(received_ - received_prior_);
  std::int64_t lost_interval = expected_interval - received_interval;
  expected_prior_ = expected_now;
  received_prior_ = received_;
  b.fraction_lost = (expected_interval <= 0 || lost_interval <= 0)
                        ? 0
                        : static_cast<std::uint8_t>(std::min<std::int64_t>(
                              255, (lost_interval << 8) / expected_interval));
  b.cumulative_lost =
      static_cast<std::int32_t>(std::clamp<std::int64_t>(lost(), -0x800000, 0x7FFFFF));
  b.extended_highest_seq = static_cast<std::uint32_t>(max_seq_);
  b.jitter = static_cast<std::uint32_t>(jitter_);
  b.last_sr = last_sr;
  b.delay_since_last_sr = delay_since_last_sr;
  return b;
}

}  // namespace hype::sfu
