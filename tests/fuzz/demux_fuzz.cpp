// The SFU receive path: classify a datagram and hand it to the matching parser.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtc/demux.hpp"
#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/stun/stun_message.hpp"

using namespace hype::rtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan d(data, size);
  switch (classify_packet(d)) {
    case PacketKind::kStun: {
      stun::StunMessage m;
      if (stun::StunMessage::parse(d, m) == stun::ParseStatus::kOk) (void)m.username();
      break;
    }
    case PacketKind::kRtp: {
      std::vector<std::uint8_t> buf(data, data + size);
      RtpPacket p;
      if (RtpPacket::parse(buf, p) == RtpParseStatus::kOk) (void)p.find_extension(1);
      break;
    }
    case PacketKind::kRtcp:
      (void)rtcp::validate_compound(d);
      break;
    default:
      break;
  }
  return 0;
}
