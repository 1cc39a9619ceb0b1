// RTP packets (RFC 3550) as a zero-copy, bounds-checked view over a mutable datagram buffer,
// plus header extensions (RFC 8285, one-byte 0xBEDE and two-byte 0x100X forms). The SFU
// forwards by rewriting fields in place (SSRC, sequence number, timestamp, payload type,
// transport-wide sequence number, abs-send-time), so the view exposes setters that patch
// the buffer, and extension rewrite keeps the element size so nothing moves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "rtc/bytes.hpp"

namespace hype::rtc {

inline constexpr std::size_t kRtpFixedHeaderSize = 12;
inline constexpr std::uint16_t kOneByteExtensionProfile = 0xBEDE;
inline constexpr std::uint16_t kTwoByteExtensionProfile = 0x1000;  // low 4 bits: appbits

enum class RtpParseStatus : std::uint8_t {
  kOk,
  kTooShort,
  kBadVersion,
  kBadCsrc,       // CSRC list runs past the end
  kBadExtension,  // extension header or block runs past the end
  kBadPadding,    // padding count zero or larger than the payload
};

class RtpPacket {
 public:
  static RtpParseStatus parse(MutableByteSpan data, RtpPacket& out);

  std::uint8_t version() const { return data_[0] >> 6; }
  bool has_padding() const { return (data_[0] & 0x20) != 0; }
  bool has_extension() const { return (data_[0] & 0x10) != 0; }
  std::uint8_t csrc_count() const { return data_[0] & 0x0F; }
  bool marker() const { return (data_[1] & 0x80) != 0; }
  std::uint8_t payload_type() const { return data_[1] & 0x7F; }
  std::uint16_t sequence_number() const { return load_be16(data_.data() + 2); }
  std::uint32_t timestamp() const { return load_be32(data_.data() + 4); }
  std::uint32_t ssrc() const { return load_be32(data_.data() + 8); }
  std::uint32_t csrc(std::size_t i) const { return load_be32(data_.data() + 12 + 4 * i); }

  void set_marker(bool m) { data_[1] = static_cast<std::uint8_t>((data_[1] & 0x7F) | (m << 7)); }
  void set_payload_type(std::uint8_t pt) {
    data_[1] = static_cast<std::uint8_t>((data_[1] & 0x80) | (pt & 0x7F));
  }
  void set_sequence_number(std::uint16_t s) { store_be16(data_.data() + 2, s); }
  void set_timestamp(std::uint32_t t) { store_be32(data_.data() + 4, t); }
  void set_ssrc(std::uint32_t s) { store_be32(data_.data() + 8, s); }

  std::size_t size() const { return data_.size(); }
  std::size_t header_size() const { return header_size_; }
  std::size_t padding_size() const { return padding_size_; }
  MutableByteSpan bytes() const { return data_; }
  MutableByteSpan payload() const {
    return data_.subspan(header_size_, data_.size() - header_size_ - padding_size_);
  }

  // 0xBEDE, 0x100X or 0 without extension.
  std::uint16_t extension_profile() const { return ext_profile_; }
  MutableByteSpan extension_block() const { return data_.subspan(ext_offset_, ext_size_); }
  // Value bytes of extension element `id`, writable in place; nullopt if absent.
  std::optional<MutableByteSpan> find_extension(std::uint8_t id) const;
  // Overwrites an existing element of the same length; false if absent or sized differently.
  bool rewrite_extension(std::uint8_t id, ByteSpan value);

  // Iterates elements; fn(id, MutableByteSpan value) returns false to stop.
  template <typename Fn>
  void for_each_extension(Fn&& fn) const;

 private:
  MutableByteSpan data_;
  std::size_t header_size_ = 0;
  std::size_t padding_size_ = 0;
  std::size_t ext_offset_ = 0;  // start of extension elements (after the 4-byte header)
  std::size_t ext_size_ = 0;
  std::uint16_t ext_profile_ = 0;
};

template <typename Fn>
void RtpPacket::for_each_extension(Fn&& fn) const {
  if (ext_profile_ == 0) return;
  std::uint8_t* p = data_.data() + ext_offset_;
  std::size_t n = ext_size_;
  std::size_t i = 0;
  if (ext_profile_ == kOneByteExtensionProfile) {
    while (i < n) {
      std::uint8_t b = p[i];
      if (b == 0) {  // padding
        ++i;
        continue;
      }
      std::uint8_t id = b >> 4;
      std::size_t len = (b & 0x0F) + 1u;
      if (id == 15 || i + 1 + len > n) return;  // 15: stop processing (RFC 8285 4.2)
      if (!fn(id, MutableByteSpan(p + i + 1, len))) return;
      i += 1 + len;
    }
  } else if ((ext_profile_ & 0xFFF0) == kTwoByteExtensionProfile) {
    while (i < n) {
      std::uint8_t id = p[i];
      if (id == 0) {
        ++i;
        continue;
      }
      if (i + 2 > n) return;
      std::size_t len = p[i + 1];
      if (i + 2 + len > n) return;
      if (!fn(id, MutableByteSpan(p + i + 2, len))) return;
      i += 2 + len;
    }
  }
}

// Writes an RTP packet into a caller buffer: fixed header, then extensions, then payload
// (in that order). Uses the one-byte form unless constructed with two_byte_extensions or
// an element does not fit it. finish() returns the size or 0 on overflow / misuse.
class RtpBuilder {
 public:
  struct Header {
    std::uint8_t payload_type = 0;
    bool marker = false;
    std::uint16_t sequence_number = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
  };
  RtpBuilder(MutableByteSpan buf, const Header& h, bool two_byte_extensions = false);

  RtpBuilder& add_extension(std::uint8_t id, ByteSpan value);
  RtpBuilder& payload(ByteSpan data);
  std::size_t finish();

 private:
  ByteWriter w_;
  bool two_byte_;
  bool has_payload_ = false;
  bool failed_ = false;
  std::size_t ext_start_ = 0;  // offset of the extension header, 0 when none yet
};

}  // namespace hype::rtc
