// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
// extensions-01, RTPFB FMT 15). The receiver side (SFU, per transport) records arrival times
// by transport sequence number and emits feedback every ~50-100 ms; the sender side (bot,
// SFU downlink estimator) parses feedback into per-packet arrival times. Status chunks use
// run-length where a run is long and 1-bit/2-bit status vectors otherwise; deltas are 250 us
// ticks, one byte when 0..63.75 ms, two bytes (signed) otherwise.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "rtc/bytes.hpp"
#include "rtc/rtcp/rtcp_packets.hpp"

namespace hype::rtc::rtcp {

inline constexpr std::int64_t kTwccDeltaTickUs = 250;
inline constexpr std::int64_t kTwccReferenceTickUs = 64000;

// What add_received did with a packet.
enum class TwccAdd : std::uint8_t {
  kAdded,  // recorded (in order, or filling a gap of this feedback)
  kLate,   // not recorded: a duplicate, older than this feedback, or its deltas do not fit
  kFull,   // not recorded: too far ahead for this feedback (count or 16-bit delta range), or
           // so far behind it that the sender's numbers must have jumped
};

// Builds one feedback packet. Reused across packets (reset()), fixed storage: no heap.
class TwccBuilder {
 public:
  static constexpr std::size_t kMaxPackets = 2048;

  // `first_seq`: where this feedback starts (the packet after the last one the previous
  // feedback covered, so losses between two feedbacks are reported); without it, at the
  // first packet added.
  void reset(std::uint32_t sender_ssrc, std::uint32_t media_ssrc, std::uint8_t fb_pkt_count,
             std::optional<std::uint16_t> first_seq = std::nullopt);
  // Records a packet's arrival. Packets normally come in increasing transport sequence order
  // (gaps become "not received"); one that arrives late into a gap of this feedback fills
  // it. kFull: send what you have, reset, retry.
  TwccAdd add_received(std::uint16_t seq, std::int64_t arrival_us);
  bool empty() const { return count_ == 0; }
  std::size_t packet_count() const { return count_; }
  std::uint16_t base_seq() const { return base_seq_; }
  // The sequence number after the last one this feedback covers.
  std::uint16_t end_seq() const { return static_cast<std::uint16_t>(base_seq_ + count_); }
  // Appends the RTCP packet to w; false on overflow or when empty.
  bool write(ByteWriter& w) const;

 private:
  std::uint32_t sender_ssrc_ = 0;
  std::uint32_t media_ssrc_ = 0;
  std::uint8_t fb_count_ = 0;
  bool have_base_ = false;
  std::uint16_t base_seq_ = 0;
  std::size_t count_ = 0;  // status entries (received or not), up to the newest received
  bool have_reference_ = false;
  std::int32_t reference_time_ = 0;                   // 64 ms units (24 bits on the wire)
  std::int64_t reference_us_ = 0;                     // the same, in microseconds
  std::array<std::uint8_t, kMaxPackets> received_{};  // 1: received
  std::array<std::int32_t, kMaxPackets> ticks_{};     // arrival, 250 us ticks after the reference
};

// The feedback's 24-bit reference time (64 ms units, sign-extended by parse_twcc) wraps every
// ~12 days of the receiver's clock; consecutive feedbacks unwrapped against each other keep
// arrival times continuous when it does (e.g. half-way, when the sign flips).
class TwccReferenceUnwrapper {
 public:
  std::int64_t unwrap(std::int32_t reference_time) {
    if (!valid_) {
      valid_ = true;
      unwrapped_ = reference_time;
    } else {
      const auto u = static_cast<std::uint32_t>(reference_time - last_) & 0xFFFFFFu;
      unwrapped_ += u >= 0x800000u ? static_cast<std::int64_t>(u) - 0x1000000 : u;
    }
    last_ = reference_time;
    return unwrapped_;
  }

 private:
  bool valid_ = false;
  std::int32_t last_ = 0;
  std::int64_t unwrapped_ = 0;
};

struct TwccHeader {
  std::uint32_t sender_ssrc = 0;
  std::uint32_t media_ssrc = 0;
  std::uint16_t base_seq = 0;
  std::uint16_t status_count = 0;
  std::int32_t reference_time = 0;  // sign-extended 24-bit, 64 ms units
  std::uint8_t fb_pkt_count = 0;
};

struct TwccPacketResult {
  std::uint16_t seq = 0;
  bool received = false;
  std::int64_t arrival_us = 0;  // reference_time * 64 ms + cumulative deltas; 0 if lost
};

// Parses a feedback whose FeedbackView came from an RTPFB/FMT 15 packet. Writes
// header.status_count entries to out; false if malformed or out is too small.
bool parse_twcc(const FeedbackView& fb, TwccHeader& header, std::span<TwccPacketResult> out);

}  // namespace hype::rtc::rtcp
