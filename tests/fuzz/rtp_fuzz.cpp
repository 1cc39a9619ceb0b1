// RTP view, header extension walk/rewrite, typed extension readers, and the SFU hop
// (extensions located under one id map, written under another, in both forms).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "rtc/rtp/extension_rewriter.hpp"
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
  PacketExtensions ext;
  if (index_extensions(p, ids, ext) == ExtensionStatus::kOk) {
    // Subscribers whose ids differ in every position; one needs the two-byte form.
    for (const ExtensionIds& sub :
         {ExtensionIds{4, 3, 1, 2, 0, 0}, ExtensionIds{200, 15, 1, 14, 0, 0}}) {
      std::vector<std::uint8_t> out(size + 64);
      std::size_t n = write_forwarded(p, ext, sub, {9, 8, 7, 96, "a0", true, 5}, out);
      if (n == 0 || n > out.size()) __builtin_trap();  // room for every extension we add
      RtpPacket q;
      if (RtpPacket::parse(std::span(out.data(), n), q) != RtpParseStatus::kOk) __builtin_trap();
      if (q.payload().size() != p.payload().size() || q.padding_size() != p.padding_size())
        __builtin_trap();
      PacketExtensions back;
      if (index_extensions(q, sub, back) != ExtensionStatus::kOk) __builtin_trap();
      if (back.transport_seq != std::optional<std::uint16_t>(5)) __builtin_trap();
    }
  }
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
