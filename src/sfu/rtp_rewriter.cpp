#include "sfu/rtp_rewriter.hpp"

namespace hype::sfu {

RtpRewriter::RtpRewriter(std::uint32_t out_ssrc, std::uint32_t clock_rate,
                         std::uint16_t initial_seq, std::uint32_t initial_ts)
    : out_ssrc_(out_ssrc),
      clock_rate_(clock_rate == 0 ? 48000 : clock_rate),
      last_out_seq_(static_cast<std::uint16_t>(initial_seq - 1)),
      last_out_ts_(initial_ts) {}

std::optional<RtpRewriter::Out> RtpRewriter::rewrite(std::uint32_t src_ssrc, std::uint16_t src_seq,
                                                     std::uint32_t src_ts, std::int64_t now_ms) {
  if (has_source_ && src_ssrc != src_ssrc_ && src_ssrc == prev_ssrc_ &&
      now_ms - switch_ms_ < kStaleWindowMs) {
    return std::nullopt;  // a late packet of the source we just switched away from
  }
  if (!has_source_ || src_ssrc != src_ssrc_) {
    // Switch: continue right after the last number we sent, and move the clock on by the
    // time that passed (at least one tick so timestamps never repeat).
    std::uint16_t next_seq = static_cast<std::uint16_t>(last_out_seq_ + 1);
    std::uint32_t next_ts = last_out_ts_;
    if (sent_any_) {
      std::int64_t elapsed = now_ms > last_out_ms_ ? now_ms - last_out_ms_ : 0;
      std::uint64_t ticks = static_cast<std::uint64_t>(elapsed) * clock_rate_ / 1000;
      next_ts += static_cast<std::uint32_t>(ticks == 0 ? 1 : ticks);
    }
    seq_delta_ = static_cast<std::uint16_t>(next_seq - src_seq);
    ts_delta_ = next_ts - src_ts;
    prev_ssrc_ = has_source_ ? src_ssrc_ : src_ssrc;
    switch_ms_ = now_ms;
    src_ssrc_ = src_ssrc;
    src_unwrap_.reset();
    first_src_ext_ = src_unwrap_.unwrap(src_seq);
    if (has_source_) ++switches_;
    has_source_ = true;
  } else if (src_unwrap_.peek(src_seq) < first_src_ext_) {
    return std::nullopt;  // from before this source took the slot
  } else {
    src_unwrap_.unwrap(src_seq);
  }
  Out o{static_cast<std::uint16_t>(src_seq + seq_delta_), src_ts + ts_delta_};
  if (!sent_any_ || rtc::seq_newer(o.seq, last_out_seq_)) {
    last_out_seq_ = o.seq;
    last_out_ts_ = o.ts;
    last_out_ms_ = now_ms;
  }
  sent_any_ = true;
  return o;
}

std::optional<std::uint16_t> RtpRewriter::source_seq(std::uint16_t out_seq) const {
  if (!has_source_ || !sent_any_) return std::nullopt;
  auto src = static_cast<std::uint16_t>(out_seq - seq_delta_);
  if (src_unwrap_.peek(src) < first_src_ext_ || rtc::seq_newer(out_seq, last_out_seq_))
    return std::nullopt;
  return src;
}

}  // namespace hype::sfu
