#include "rtc/rtp/rtx.hpp"

#include <cstring>

namespace hype::rtc {

bool unwrap_rtx(MutableByteSpan buf, std::size_t& len, RtpPacket& pkt,
                std::uint8_t apt_payload_type, std::uint32_t primary_ssrc) {
  MutableByteSpan payload = pkt.payload();
  // `pkt` must be the parse of exactly buf[0, len).
  if (payload.size() < 2 || len > buf.size() || pkt.size() != len ||
      pkt.bytes().data() != buf.data())
    return false;
  const std::uint16_t osn = load_be16(payload.data());
  const std::size_t header = pkt.header_size();
  const std::size_t rest = len - header - 2;  // payload after the OSN, then padding
  std::memmove(buf.data() + header, buf.data() + header + 2, rest);
  std::size_t n = len - 2;
  RtpPacket out;
  if (RtpPacket::parse(buf.first(n), out) != RtpParseStatus::kOk) {
    // Only a packet whose padding ate the OSN could fail here: put it back as it was.
    std::memmove(buf.data() + header + 2, buf.data() + header, rest);
    store_be16(buf.data() + header, osn);
    return false;
  }
  out.set_sequence_number(osn);
  out.set_ssrc(primary_ssrc);
  out.set_payload_type(apt_payload_type);
  pkt = out;
  len = n;
  return true;
}

}  // namespace hype::rtc
