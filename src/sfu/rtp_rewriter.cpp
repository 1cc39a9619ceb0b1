#include "sfu/rtp_rewriter.hpp"

#include <algorithm>

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
    highest_src_ext_ = first_src_ext_;
    skip_count_ = 0;
    if (has_source_) ++switches_;
    has_source_ = true;
  } else if (src_unwrap_.peek(src_seq) < first_src_ext_) {
    return std::nullopt;  // from before this source took the slot
  }
  const std::int64_t ext = src_unwrap_.unwrap(src_seq);
  std::uint16_t skipped_before = 0;
  if (skip_count_ != 0) {
    auto after = skips_after(ext);
    if (!after) return std::nullopt;
    const std::uint64_t remembered = std::min<std::uint64_t>(skip_count_, kSkipHistory);
    if (*after < remembered && skips_[(skip_count_ - 1 - *after) % kSkipHistory] == ext)
      return std::nullopt;  // skipped already: the numbers after it closed up over it
    skipped_before = static_cast<std::uint16_t>(skip_count_ - *after);
  }
  if (ext > highest_src_ext_) highest_src_ext_ = ext;
  Out o{static_cast<std::uint16_t>(src_seq + seq_delta_ - skipped_before), src_ts + ts_delta_};
  if (!sent_any_ || rtc::seq_newer(o.seq, last_out_seq_)) {
    last_out_seq_ = o.seq;
    last_out_ts_ = o.ts;
    last_out_ms_ = now_ms;
  }
  sent_any_ = true;
  return o;
}

void RtpRewriter::skip(std::uint32_t src_ssrc, std::uint16_t src_seq) {
  if (!has_source_ || src_ssrc != src_ssrc_) return;
  const std::int64_t ext = src_unwrap_.peek(src_seq);
  if (ext <= highest_src_ext_) return;  // newer packets have their numbers: its hole stays
  src_unwrap_.unwrap(src_seq);
  highest_src_ext_ = ext;
  skips_[skip_count_ % kSkipHistory] = ext;
  ++skip_count_;
}

std::optional<std::uint64_t> RtpRewriter::skips_after(std::int64_t ext) const {
  const std::uint64_t remembered = std::min<std::uint64_t>(skip_count_, kSkipHistory);
  std::uint64_t after = 0;
  while (after < remembered && skips_[(skip_count_ - 1 - after) % kSkipHistory] > ext) ++after;
  if (after == remembered && remembered < skip_count_) return std::nullopt;
  return after;
}

std::optional<std::uint16_t> RtpRewriter::source_seq(std::uint16_t out_seq) const {
  if (!has_source_ || !sent_any_ || rtc::seq_newer(out_seq, last_out_seq_)) return std::nullopt;
  // out = src + delta - (skips before src): try each possible count of skips before it,
  // from all of them down, until src falls between the skips that count implies.
  const auto base = static_cast<std::uint16_t>(out_seq - seq_delta_);
  const std::uint64_t remembered = std::min<std::uint64_t>(skip_count_, kSkipHistory);
  for (std::uint64_t after = 0; after <= remembered; ++after) {
    const std::uint64_t before = skip_count_ - after;
    if (after == remembered && remembered < skip_count_) break;  // forgotten skips
    const auto src = static_cast<std::uint16_t>(base + before);
    const std::int64_t ext = src_unwrap_.peek(src);
    if (ext < first_src_ext_) return std::nullopt;
    // The skip just before it (the before-th, counting from 1) and the one just after.
    if (after > 0 && ext >= skips_[(skip_count_ - after) % kSkipHistory]) continue;
    if (before > 0 && ext <= skips_[(before - 1) % kSkipHistory]) continue;
    return src;
  }
  return std::nullopt;
}

}  // namespace hype::sfu
