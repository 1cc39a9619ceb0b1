// RTP view, header extension walk/rewrite and typed extension readers.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "rtc/rtp/header_extensions.hpp"
#include "rtc/rtp/rtp_packet.hpp"

using namespace hype::rtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> buf(data, data + size);  // the view needs a mutable buffer
  RtpPacket p;
  if (RtpPacket::parse(buf, p) != RtpParseStatus::kOk) return 0;
  if (p.header_size() + p.padding_size() > size) __builtin_trap();
  volatile std::uint32_t sink = p.ssrc() ^ p.timestamp() ^ p.sequence_number() ^ p.payload_type();
  for (std::size_t i = 0; i < p.csrc_count(); ++i) sink = sink ^ p.csrc(i);
  auto payload = p.payload();
  if (!payload.empty()) sink = sink ^ payload[payload.size() - 1];
  p.for_each_extension([&](std::uint8_t id, MutableByteSpan v) {
    if (v.data() < buf.data() || v.data() + v.size() > buf.data() + buf.size()) __builtin_trap();
    sink = sink ^ id;
    return true;
  });
  ExtensionIds ids{1, 2, 3, 4, 10, 11};
  (void)audio_level(p, ids);
  (void)transport_seq(p, ids);
  (void)mid(p, ids);
  (void)rid(p, ids);
  (void)set_transport_seq(p, ids, 7);
  (void)set_abs_send_time(p, ids, 123456789);
  std::uint8_t zeros[16] = {};
  for (std::uint8_t id = 1; id < 16; ++id) {
    if (auto v = p.find_extension(id); v && v->size() <= 16)
      p.rewrite_extension(id, ByteSpan(zeros, v->size()));
  }
  p.set_sequence_number(1);
  p.set_ssrc(2);
  p.set_marker(true);
  return 0;
}
