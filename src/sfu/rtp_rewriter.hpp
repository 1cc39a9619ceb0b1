// Per-subscriber RTP rewriting. A subscriber sees one outgoing stream (its own SSRC, sequence
// numbers and timestamps) per slot; the source feeding a slot may change (a new publisher
// track, a restarted sender, a speaker switch in last-N). Sequence numbers continue without
// gaps across a switch and timestamps advance by the wall-clock time that passed, so the
// receiver's jitter buffer sees one continuous stream. Packets of a source that arrive
// late, after the slot moved on, are dropped: their numbers would collide. The previous
// source can take the slot back only after kStaleWindowMs, so its stragglers cannot flip it.
// Packets of the current source the subscriber does not get (a temporal layer it does not
// take) are skip()ped: the numbers after them close up, so the receiver sees no loss.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "rtc/rtp/seq_unwrapper.hpp"

namespace hype::sfu {

class RtpRewriter {
 public:
  static constexpr std::int64_t kStaleWindowMs = 500;
  // Skipped packets remembered: a packet older than the oldest of them (reordered that far)
  // cannot be numbered and is dropped.
  static constexpr std::size_t kSkipHistory = 128;

  // Initial sequence number and timestamp should be random (RFC 3550 5.1).
  RtpRewriter(std::uint32_t out_ssrc, std::uint32_t clock_rate, std::uint16_t initial_seq,
              std::uint32_t initial_ts);

  struct Out {
    std::uint16_t seq = 0;
    std::uint32_t ts = 0;
  };
  // Maps one source packet; nullopt when it must be dropped (older than the last switch, or
  // a packet skip()ped before: its number went to the packet after it).
  std::optional<Out> rewrite(std::uint32_t src_ssrc, std::uint16_t src_seq, std::uint32_t src_ts,
                             std::int64_t now_ms);
  // A packet of the current source that is not forwarded: the sequence numbers after it
  // close up (out = src + delta - packets skipped before it). One that arrives after newer
  // packets were numbered leaves its hole (those numbers are out already). Before the
  // source took the slot, nothing to do.
  void skip(std::uint32_t src_ssrc, std::uint16_t src_seq);
  // For a NACK from the subscriber: the current source's sequence number that produced
  // out_seq, nullopt if it belongs to an earlier source or was never sent.
  std::optional<std::uint16_t> source_seq(std::uint16_t out_seq) const;
  // The outgoing timestamp of a current-source timestamp (for resending a cached packet).
  std::uint32_t out_ts(std::uint32_t src_ts) const { return src_ts + ts_delta_; }

  // The slot lost its source: the next packet starts a new mapping (whatever its SSRC),
  // still continuing this stream's sequence numbers and clock.
  void detach() { has_source_ = false; }

  std::uint32_t out_ssrc() const { return out_ssrc_; }
  std::uint32_t source_ssrc() const { return src_ssrc_; }
  bool has_source() const { return has_source_; }
  std::uint16_t last_out_seq() const { return last_out_seq_; }
  std::uint32_t last_out_ts() const { return last_out_ts_; }
  std::uint32_t switches() const { return switches_; }
  std::uint64_t skipped() const { return skip_count_; }

 private:
  // How many skipped packets of the current source are newer than `ext`; nullopt when ext
  // is older than the skips remembered (some skip before it may be forgotten).
  std::optional<std::uint64_t> skips_after(std::int64_t ext) const;

  std::uint32_t out_ssrc_;
  std::uint32_t clock_rate_;
  bool has_source_ = false;
  bool sent_any_ = false;
  std::uint32_t src_ssrc_ = 0;
  std::uint32_t prev_ssrc_ = 0;
  std::int64_t switch_ms_ = 0;
  std::uint16_t seq_delta_ = 0;  // out = src + delta (mod 2^16)
  std::uint32_t ts_delta_ = 0;
  // The current source's sequence numbers unwrapped to 64 bits, so "from before this source
  // took the slot" stays true of old packets only (compared modulo 2^16, every packet would
  // look older once the source had sent 32768 of them: about 11 minutes of audio).
  rtc::SeqUnwrapper src_unwrap_;
  std::int64_t first_src_ext_ = 0;    // first packet of the current source
  std::int64_t highest_src_ext_ = 0;  // newest packet of it numbered or skipped
  // How many packets were skipped since the source took the slot; the last kSkipHistory of
  // them (unwrapped; the n-th skip, counting from 0, at n % kSkipHistory).
  std::uint64_t skip_count_ = 0;
  std::array<std::int64_t, kSkipHistory> skips_{};
  std::uint16_t last_out_seq_;
  std::uint32_t last_out_ts_;
  std::int64_t last_out_ms_ = 0;
  std::uint32_t switches_ = 0;
};

}  // namespace hype::sfu
