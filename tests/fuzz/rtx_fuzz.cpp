// RTX on arbitrary packets: unwrap_rtx on whatever parses, write_forwarded as RTX and back,
// and the NACK generator fed the sequence numbers found in the input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtc/rtcp/nack_generator.hpp"
#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/rtp/rtx.hpp"

using namespace hype::rtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> buf(data, data + size);
  RtpPacket p;
  if (RtpPacket::parse(buf, p) == RtpParseStatus::kOk) {
    std::array<std::uint8_t, 2048> out{};
    ForwardHeader h{1, 2, 3, 97, {}, false, 0};
    h.rtx_osn = p.sequence_number();
    PacketExtensions ext;
    std::size_t n = write_forwarded(p, ext, ExtensionIds{}, h, out);
    std::size_t len = size;
    std::uint16_t seq = p.sequence_number();
    const std::vector<std::uint8_t> before = buf;
    const std::size_t payload = p.payload().size();
    if (unwrap_rtx(buf, len, p, 96, 5)) {
      if (len + 2 != size || p.ssrc() != 5 || p.payload_type() != 96) __builtin_trap();
      if (p.sequence_number() != load_be16(before.data() + p.header_size())) __builtin_trap();
      if (p.payload().size() + 2 != payload || p.size() != len) __builtin_trap();
    } else if (buf != before || len != size) {
      __builtin_trap();  // a refusal changes nothing
    }
    RtpPacket rtx;
    if (n && RtpPacket::parse(MutableByteSpan(out.data(), n), rtx) == RtpParseStatus::kOk &&
        unwrap_rtx(out, n, rtx, 96, 5) && rtx.sequence_number() != seq)
      __builtin_trap();
  }
  NackGenerator g;
  std::array<std::uint16_t, 64> asked{};
  for (std::size_t i = 0; i + 1 < size; i += 2) {
    g.on_packet(static_cast<std::uint16_t>(data[i] << 8 | data[i + 1]),
                static_cast<std::int64_t>(i));
    if (g.collect(static_cast<std::int64_t>(i), asked) > asked.size()) __builtin_trap();
  }
  return 0;
}
