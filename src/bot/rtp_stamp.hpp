// The bot's send timestamp carried in a video packet's RTP padding (RFC 3550 5.1: the P bit
// set, the last padding octet counts the padding octets including itself), so that the
// latency through any SFU is measured the same way: an SFU forwards payload and padding as
// they come (hype copies everything after the header; Janus relays the packet it received),
// and a receiver ignores padding content. The padding is 11 octets: "HT", the sender's
// steady-clock microseconds (big endian), and the count (11). Only original media packets
// carry it; RTX the publisher sends does not (its latency would not be the forwarding's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "rtc/bytes.hpp"
#include "rtc/rtp/rtp_packet.hpp"

namespace hype::bot {

inline constexpr std::size_t kRtpStampBytes = 11;

// Appends the stamp as padding to the RTP packet of `len` bytes at the start of `buf`; returns
// the new length, or `len` unchanged when it does not fit, the packet is shorter than an RTP
// header or already has padding.
inline std::size_t rtp_stamp(rtc::MutableByteSpan buf, std::size_t len, std::uint64_t t_us) {
  if (len < rtc::kRtpFixedHeaderSize || len > buf.size() || buf.size() - len < kRtpStampBytes ||
      (buf[0] & 0x20) != 0)
    return len;
  std::uint8_t* s = buf.data() + len;
  s[0] = 'H';
  s[1] = 'T';
  rtc::store_be64(s + 2, t_us);
  s[10] = static_cast<std::uint8_t>(kRtpStampBytes);
  buf[0] = static_cast<std::uint8_t>(buf[0] | 0x20);
  return len + kRtpStampBytes;
}

// The stamp of a parsed packet made by rtp_stamp, if it has one.
inline std::optional<std::uint64_t> rtp_read_stamp(const rtc::RtpPacket& p) {
  if (p.padding_size() < kRtpStampBytes) return std::nullopt;
  const auto d = p.bytes();
  const std::uint8_t* s = d.data() + d.size() - kRtpStampBytes;
  if (s[0] != 'H' || s[1] != 'T') return std::nullopt;
  return rtc::load_be64(s + 2);
}

}  // namespace hype::bot
