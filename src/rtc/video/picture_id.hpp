// The M-bit picture id field VP8 (RFC 7741) and VP9 (RFC 9628) descriptors share: one byte
// M=0 + 7 bits, or two bytes M=1 + 15 bits. Internal to src/rtc/video.
#pragma once

#include <cstddef>

#include "rtc/bytes.hpp"

namespace hype::rtc::video::detail {

// Reads the picture id at p[i], advancing i; false when it runs past the end.
inline bool read_picture_id(ByteSpan p, std::size_t& i, int& out, bool& fifteen_bit) {
  if (i >= p.size()) return false;
  fifteen_bit = (p[i] & 0x80) != 0;
  if (fifteen_bit) {
    if (i + 1 >= p.size()) return false;
    out = ((p[i] & 0x7F) << 8) | p[i + 1];
    i += 2;
  } else {
    out = p[i] & 0x7F;
    i += 1;
  }
  return true;
}

}  // namespace hype::rtc::video::detail
