#include "rtc/rtp/rtp_packet.hpp"

#include <cstring>

namespace hype::rtc {

RtpParseStatus RtpPacket::parse(MutableByteSpan d, RtpPacket& out) {
  if (d.size() < kRtpFixedHeaderSize) return RtpParseStatus::kTooShort;
  if ((d[0] >> 6) != 2) return RtpParseStatus::kBadVersion;
  RtpPacket p;
  p.data_ = d;
  std::size_t off = kRtpFixedHeaderSize + 4u * (d[0] & 0x0F);
  if (off > d.size()) return RtpParseStatus::kBadCsrc;
  if (d[0] & 0x10) {
    if (off + 4 > d.size()) return RtpParseStatus::kBadExtension;
    p.ext_profile_ = load_be16(d.data() + off);
    std::size_t words = load_be16(d.data() + off + 2);
    p.ext_offset_ = off + 4;
    p.ext_size_ = words * 4;
    off = p.ext_offset_ + p.ext_size_;
    if (off > d.size()) return RtpParseStatus::kBadExtension;
  }
  p.header_size_ = off;
  if (d[0] & 0x20) {
    if (d.size() == off) return RtpParseStatus::kBadPadding;
    std::size_t pad = d[d.size() - 1];
    if (pad == 0 || pad > d.size() - off) return RtpParseStatus::kBadPadding;
    p.padding_size_ = pad;
  }
  out = p;
  return RtpParseStatus::kOk;
}

std::optional<MutableByteSpan> RtpPacket::find_extension(std::uint8_t id) const {
  std::optional<MutableByteSpan> found;
  for_each_extension([&](std::uint8_t eid, MutableByteSpan v) {
    if (eid != id) return true;
    found = v;
    return false;
  });
  return found;
}

bool RtpPacket::rewrite_extension(std::uint8_t id, ByteSpan value) {
  auto slot = find_extension(id);
  if (!slot || slot->size() != value.size()) return false;
  if (!value.empty()) std::memcpy(slot->data(), value.data(), value.size());
  return true;
}

RtpBuilder::RtpBuilder(MutableByteSpan buf, const Header& h, bool two_byte_extensions)
    : w_(buf), two_byte_(two_byte_extensions) {
  w_.u8(0x80);
  w_.u8(static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7F)));
  w_.u16(h.sequence_number);
  w_.u32(h.timestamp);
  w_.u32(h.ssrc);
}

RtpBuilder& RtpBuilder::add_extension(std::uint8_t id, ByteSpan value) {
  if (has_payload_ || id == 0 || !w_.ok()) {
    failed_ = true;
    return *this;
  }
  if (ext_start_ == 0) {
    ext_start_ = w_.size();
    w_.u16(two_byte_ ? kTwoByteExtensionProfile : kOneByteExtensionProfile);
    w_.u16(0);
    if (w_.ok()) w_.at(0)[0] |= 0x10;
  }
  if (two_byte_) {
    if (value.size() > 255) {
      failed_ = true;
      return *this;
    }
    w_.u8(id);
    w_.u8(static_cast<std::uint8_t>(value.size()));
  } else {
    // One-byte form cannot carry id 15, ids above 14 or empty / >16-byte values.
    if (id > 14 || value.empty() || value.size() > 16) {
      failed_ = true;
      return *this;
    }
    w_.u8(static_cast<std::uint8_t>((id << 4) | (value.size() - 1)));
  }
  w_.bytes(value.data(), value.size());
  return *this;
}

RtpBuilder& RtpBuilder::payload(ByteSpan data) {
  if (ext_start_ != 0) {
    std::size_t body = w_.size() - ext_start_ - 4;
    std::size_t pad = (4 - body % 4) % 4;
    w_.zeros(pad);
    if (w_.ok()) store_be16(w_.at(ext_start_ + 2), static_cast<std::uint16_t>((body + pad) / 4));
  }
  w_.bytes(data.data(), data.size());
  has_payload_ = true;
  return *this;
}

std::size_t RtpBuilder::finish() {
  if (!has_payload_) payload({});
  return (w_.ok() && !failed_) ? w_.size() : 0;
}

}  // namespace hype::rtc
