// Unwraps wrapping RTP counters (16-bit sequence numbers, 32-bit timestamps) into monotonic
// 64-bit values so jitter buffers, NACK lists and TWCC never compare modulo numbers. A
// jump of less than half the range counts as forward or backward (RFC 3550 A.1 style).
#pragma once

#include <cstdint>
#include <type_traits>

namespace hype::rtc {

template <typename T>
class Unwrapper {
  static_assert(std::is_unsigned_v<T> && sizeof(T) < sizeof(std::int64_t));

 public:
  std::int64_t unwrap(T value) {
    if (!has_last_) {
      has_last_ = true;
      last_ = value;
      last_unwrapped_ = value;
      return last_unwrapped_;
    }
    constexpr std::int64_t kRange = std::int64_t{1} << (8 * sizeof(T));
    std::int64_t diff = static_cast<std::int64_t>(value) - static_cast<std::int64_t>(last_);
    if (diff > kRange / 2) diff -= kRange;
    if (diff < -kRange / 2) diff += kRange;
    last_unwrapped_ += diff;
    last_ = value;
    return last_unwrapped_;
  }
  // Unwrap without updating state (for lookups of older packets).
  std::int64_t peek(T value) const {
    if (!has_last_) return value;
    constexpr std::int64_t kRange = std::int64_t{1} << (8 * sizeof(T));
    std::int64_t diff = static_cast<std::int64_t>(value) - static_cast<std::int64_t>(last_);
    if (diff > kRange / 2) diff -= kRange;
    if (diff < -kRange / 2) diff += kRange;
    return last_unwrapped_ + diff;
  }
  void reset() { has_last_ = false; }

 private:
  bool has_last_ = false;
  T last_ = 0;
  std::int64_t last_unwrapped_ = 0;
};

using SeqUnwrapper = Unwrapper<std::uint16_t>;
using TimestampUnwrapper = Unwrapper<std::uint32_t>;

// RFC 3550 style "a is newer than b" for 16-bit sequence numbers.
inline bool seq_newer(std::uint16_t a, std::uint16_t b) {
  return a != b && static_cast<std::uint16_t>(a - b) < 0x8000;
}

}  // namespace hype::rtc
