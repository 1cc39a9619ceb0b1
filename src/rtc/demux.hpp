// Demultiplexing of the single UDP port the SFU shares between STUN, DTLS, RTP and RTCP
// (RFC 7983 section 7, RTCP vs RTP per RFC 5761 section 4). The first byte picks the
// protocol family; for 128..191 the second byte (payload type with the marker bit) tells
// RTCP packet types 192..223 apart from RTP payload types.
#pragma once

#include <cstdint>

#include "rtc/bytes.hpp"

namespace hype::rtc {

enum class PacketKind : std::uint8_t { kUnknown, kStun, kZrtp, kDtls, kTurnChannel, kRtp, kRtcp };

inline PacketKind classify_packet(ByteSpan d) {
  if (d.empty()) return PacketKind::kUnknown;
  std::uint8_t b = d[0];
  if (b <= 3) return PacketKind::kStun;
  if (b >= 16 && b <= 19) return PacketKind::kZrtp;
  if (b >= 20 && b <= 63) return PacketKind::kDtls;
  if (b >= 64 && b <= 79) return PacketKind::kTurnChannel;
  if (b >= 128 && b <= 191) {
    if (d.size() < 2) return PacketKind::kUnknown;
    return (d[1] >= 192 && d[1] <= 223) ? PacketKind::kRtcp : PacketKind::kRtp;
  }
  return PacketKind::kUnknown;
}

const char* to_string(PacketKind k);

}  // namespace hype::rtc
