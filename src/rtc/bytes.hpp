// Big-endian byte access for wire formats. Every parser in rtc reads through these helpers so
// bounds are checked by the caller once (length tests) and the loads stay branch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace hype::rtc {

using ByteSpan = std::span<const std::uint8_t>;
using MutableByteSpan = std::span<std::uint8_t>;

inline std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_be24(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}
inline std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
inline std::uint64_t load_be64(const std::uint8_t* p) {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be24(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 16);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
inline void store_be64(std::uint8_t* p, std::uint64_t v) {
  store_be32(p, static_cast<std::uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<std::uint32_t>(v));
}

inline ByteSpan as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string_view(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Bounded sequential writer over a caller buffer. Writes past the end set a sticky overflow
// flag instead of touching memory, so builders can check once at the end.
class ByteWriter {
 public:
  explicit ByteWriter(MutableByteSpan buf) : buf_(buf) {}

  bool ok() const { return !overflow_; }
  std::size_t size() const { return pos_; }
  std::uint8_t* data() { return buf_.data(); }
  std::uint8_t* at(std::size_t off) { return buf_.data() + off; }
  std::size_t remaining() const { return buf_.size() - pos_; }

  // Reserves n bytes and returns a pointer to them, or nullptr on overflow.
  std::uint8_t* reserve(std::size_t n) {
    if (overflow_ || n > buf_.size() - pos_) {
      overflow_ = true;
      return nullptr;
    }
    std::uint8_t* p = buf_.data() + pos_;
    pos_ += n;
    return p;
  }
  void u8(std::uint8_t v) {
    if (auto* p = reserve(1)) *p = v;
  }
  void u16(std::uint16_t v) {
    if (auto* p = reserve(2)) store_be16(p, v);
  }
  void u24(std::uint32_t v) {
    if (auto* p = reserve(3)) store_be24(p, v);
  }
  void u32(std::uint32_t v) {
    if (auto* p = reserve(4)) store_be32(p, v);
  }
  void bytes(const void* src, std::size_t n) {
    if (auto* p = reserve(n); p && n) std::memcpy(p, src, n);
  }
  void zeros(std::size_t n) {
    if (auto* p = reserve(n); p && n) std::memset(p, 0, n);
  }

 private:
  MutableByteSpan buf_;
  std::size_t pos_ = 0;
  bool overflow_ = false;
};

}  // namespace hype::rtc
