// IVF (the container libvpx and ffmpeg write for raw VP8/VP9/AV1 frames) read from memory:
// a 32-byte file header (signature "DKIF", codec fourcc, size, time base) followed by frames,
// each a 12-byte header (size, 64-bit presentation timestamp in time-base units) and the
// frame's bytes. hype-bot streams pre-encoded clips from it, so a benchmark needs no encoder.
// The reader is a zero-copy, bounds-checked cursor: frames are spans into the caller's
// buffer, malformed input is a status (never a throw, never a read past the end).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtc/bytes.hpp"

namespace hype::rtc::video {

inline constexpr std::size_t kIvfFileHeaderSize = 32;
inline constexpr std::size_t kIvfFrameHeaderSize = 12;
// No real frame comes near this; a larger size field is corruption, not a frame.
inline constexpr std::uint32_t kIvfMaxFrameSize = 16u << 20;

enum class IvfStatus : std::uint8_t {
  kOk,
  kEnd,             // next(): no more frames (the file ended on a frame boundary)
  kTooShort,        // shorter than the file header
  kBadSignature,    // not "DKIF"
  kBadHeaderSize,   // header length field below 32 or past the end of the input
  kBadTimeBase,     // a zero numerator or denominator
  kTruncatedFrame,  // a frame header or frame body runs past the end
  kFrameTooLarge,   // a frame size field over kIvfMaxFrameSize
};
const char* to_string(IvfStatus s);

struct IvfHeader {
  std::array<char, 4> fourcc{};  // "VP80", "VP90", "AV01", ...
  std::uint16_t version = 0;
  std::uint16_t header_size = kIvfFileHeaderSize;
  std::uint16_t width = 0, height = 0;
  // One pts unit lasts timebase_num / timebase_den seconds (ffmpeg writes 1/fps).
  std::uint32_t timebase_den = 0, timebase_num = 0;
  std::uint32_t frame_count = 0;  // as written; writers may leave it 0, do not rely on it

  std::string_view codec() const { return {fourcc.data(), fourcc.size()}; }
  // pts in the RTP video clock (90 kHz) and in microseconds.
  std::uint64_t to_90khz(std::uint64_t pts) const;
  std::uint64_t to_us(std::uint64_t pts) const;
};

struct IvfFrame {
  std::uint64_t pts = 0;
  ByteSpan data;
  std::size_t offset = 0;  // of the frame header in the file
};

class IvfReader {
 public:
  // Parses the file header; on kOk the reader stands before the first frame.
  static IvfStatus open(ByteSpan file, IvfReader& out);

  const IvfHeader& header() const { return header_; }
  // The next frame, kEnd after the last one, or an error (after which next() repeats it).
  IvfStatus next(IvfFrame& out);
  void rewind() {
    off_ = header_.header_size;
    failed_ = IvfStatus::kOk;
  }

 private:
  ByteSpan file_;
  IvfHeader header_;
  std::size_t off_ = 0;
  IvfStatus failed_ = IvfStatus::kOk;
};

}  // namespace hype::rtc::video
