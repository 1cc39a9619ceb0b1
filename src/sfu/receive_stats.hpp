// RFC 3550 receiver statistics for one received RTP stream (A.1 sequence tracking, A.3
// loss, A.8 interarrival jitter), turned into the report block of the receiver reports the
// SFU sends to each publisher. Plain arithmetic on the hot path, no allocation.
#pragma once

#include <cstdint>

#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtp/seq_unwrapper.hpp"

namespace hype::sfu {

class ReceiveStats {
 public:
  explicit ReceiveStats(std::uint32_t clock_rate = 48000) : clock_rate_(clock_rate) {}

  void on_packet(std::uint16_t seq, std::uint32_t rtp_ts, std::int64_t arrival_us);
  // Report block for `ssrc` since the previous call (fraction lost is per interval).
  rtc::rtcp::ReportBlock make_report(std::uint32_t ssrc, std::uint32_t last_sr = 0,
                                     std::uint32_t delay_since_last_sr = 0);

  std::uint64_t received() const { return received_; }
  std::int64_t expected() const { return started_ ? max_seq_ - base_seq_ + 1 : 0; }
  std::int64_t lost() const { return expected() - static_cast<std::int64_t>(received_); }
  double jitter_ticks() const { return jitter_; }

 private:
  std::uint32_t clock_rate_;
  rtc::SeqUnwrapper unwrap_;
  bool started_ = false;
  std::int64_t base_seq_ = 0;
  std::int64_t max_seq_ = 0;
  std::uint64_t received_ = 0;
  std::int64_t expected_prior_ = 0;
  std::uint64_t received_prior_ = 0;
  double jitter_ = 0;
  std::int64_t last_transit_ = 0;
  bool has_transit_ = false;
};

}  // namespace hype::sfu
