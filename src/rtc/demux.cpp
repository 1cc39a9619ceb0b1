#include "rtc/demux.hpp"

namespace hype::rtc {

const char* to_string(PacketKind k) {
  switch (k) {
    case PacketKind::kStun:
      return "stun";
    case PacketKind::kZrtp:
      return "zrtp";
    case PacketKind::kDtls:
      return "dtls";
    case PacketKind::kTurnChannel:
      return "turn-channel";
    case PacketKind::kRtp:
      return "rtp";
    case PacketKind::kRtcp:
      return "rtcp";
    case PacketKind::kUnknown:
      break;
  }
  return "unknown";
}

}  // namespace hype::rtc
