#include "rtc/rtp/extension_rewriter.hpp"

#include <array>
#include <cstring>

namespace hype::rtc {
namespace {

// Walks an RFC 8285 extension block; fn(id, value) for every element. False when an element
// runs past the block. One-byte id 15 stops processing (RFC 8285 4.2), it is not an error.
template <typename Fn>
bool walk(ByteSpan block, bool two_byte, Fn&& fn) {
  std::size_t i = 0;
  const std::size_t n = block.size();
  while (i < n) {
    std::uint8_t b = block[i];
    if (b == 0) {  // padding, in both forms
      ++i;
      continue;
    }
    std::uint8_t id = 0;
    std::size_t len = 0;
    if (two_byte) {
      if (i + 2 > n) return false;
      id = b;
      len = block[i + 1];
      i += 2;
    } else {
      id = b >> 4;
      if (id == 15) return true;
      len = (b & 0x0F) + 1u;
      i += 1;
    }
    if (i + len > n) return false;
    fn(id, block.subspan(i, len));
    i += len;
  }
  return true;
}

struct Element {
  std::uint8_t id = 0;
  ByteSpan value;
};

}  // namespace

ExtensionStatus index_extensions(const RtpPacket& p, const ExtensionIds& sender,
                                 PacketExtensions& out) {
  out = {};
  std::uint16_t profile = p.extension_profile();
  bool one = profile == kOneByteExtensionProfile;
  bool two = (profile & 0xFFF0) == kTwoByteExtensionProfile;
  if (!p.has_extension() || (!one && !two)) return ExtensionStatus::kOk;
  bool ok = walk(p.extension_block(), two, [&](std::uint8_t id, ByteSpan v) {
    if (id == sender.audio_level && v.size() == 1) {
      out.audio_level = read_audio_level(v);
    } else if (id == sender.abs_send_time && v.size() == 3) {
      out.abs_send_time = v;
    } else if (id == sender.transport_cc && v.size() == 2) {
      out.transport_seq = load_be16(v.data());
    }
  });
  if (!ok) {
    out = {};
    return ExtensionStatus::kMalformed;
  }
  return ExtensionStatus::kOk;
}

std::size_t write_forwarded(const RtpPacket& src, const PacketExtensions& ext,
                            const ExtensionIds& receiver, const ForwardHeader& h,
                            MutableByteSpan out) {
  // At most four elements: audio level, abs-send-time, transport-cc, mid.
  std::array<Element, 4> els{};
  std::size_t count = 0;
  std::array<std::uint8_t, 1> level{};
  std::array<std::uint8_t, 2> tseq{};
  if (receiver.audio_level != 0 && ext.audio_level) {
    level[0] = encode_audio_level(*ext.audio_level);
    els[count++] = {receiver.audio_level, level};
  }
  if (receiver.abs_send_time != 0 && ext.abs_send_time.size() == 3)
    els[count++] = {receiver.abs_send_time, ext.abs_send_time};
  if (receiver.transport_cc != 0 && h.write_transport_seq) {
    store_be16(tseq.data(), h.transport_seq);
    els[count++] = {receiver.transport_cc, tseq};
  }
  if (receiver.mid != 0 && !h.mid.empty() && h.mid.size() <= 255)
    els[count++] = {receiver.mid, as_bytes(h.mid)};

  bool two_byte = false;
  std::size_t body = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& e = els[i];
    if (e.id > 14 || e.value.empty() || e.value.size() > 16) two_byte = true;
  }
  for (std::size_t i = 0; i < count; ++i) body += (two_byte ? 2 : 1) + els[i].value.size();
  std::size_t block = count == 0 ? 0 : 4 + (body + 3) / 4 * 4;

  const std::size_t fixed = kRtpFixedHeaderSize + 4u * src.csrc_count();
  ByteSpan tail = ByteSpan(src.bytes()).subspan(src.header_size());  // payload + padding
  const std::size_t osn = h.rtx_osn ? 2 : 0;
  const std::size_t total = fixed + block + osn + tail.size();
  if (total > out.size()) return 0;

  std::uint8_t* o = out.data();
  std::memcpy(o, src.bytes().data(), fixed);
  o[0] = static_cast<std::uint8_t>((o[0] & ~0x10) | (count ? 0x10 : 0));
  o[1] = static_cast<std::uint8_t>((o[1] & 0x80) | (h.payload_type & 0x7F));
  store_be16(o + 2, h.sequence_number);
  store_be32(o + 4, h.timestamp);
  store_be32(o + 8, h.ssrc);
  if (count) {
    std::uint8_t* b = o + fixed;
    store_be16(b, two_byte ? kTwoByteExtensionProfile : kOneByteExtensionProfile);
    store_be16(b + 2, static_cast<std::uint16_t>((block - 4) / 4));
    std::size_t w = 4;
    for (std::size_t i = 0; i < count; ++i) {
      const auto& e = els[i];
      if (two_byte) {
        b[w++] = e.id;
        b[w++] = static_cast<std::uint8_t>(e.value.size());
      } else {
        b[w++] = static_cast<std::uint8_t>((e.id << 4) | (e.value.size() - 1));
      }
      std::memcpy(b + w, e.value.data(), e.value.size());
      w += e.value.size();
    }
    std::memset(b + w, 0, block - w);
  }
  if (osn) store_be16(o + fixed + block, *h.rtx_osn);
  if (!tail.empty()) std::memcpy(o + fixed + block + osn, tail.data(), tail.size());
  return total;
}

}  // namespace hype::rtc
