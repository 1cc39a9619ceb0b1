// IVF reading (ivf_reader.hpp). Every multi-byte field in IVF is little-endian.
#include "rtc/video/ivf_reader.hpp"

namespace hype::rtc::video {

namespace {

std::uint16_t le16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}
std::uint64_t le64(const std::uint8_t* p) {
  return std::uint64_t{le32(p)} | (std::uint64_t{le32(p + 4)} << 32);
}

// pts * num * rate / den without overflow (a 128-bit intermediate; saturates at 2^64).
__extension__ typedef unsigned __int128 U128;
std::uint64_t scale(std::uint64_t pts, std::uint32_t num, std::uint32_t den, std::uint64_t rate) {
  if (den == 0) return 0;
  U128 v = static_cast<U128>(pts) * num * rate / den;
  return v > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(v);
}

}  // namespace

const char* to_string(IvfStatus s) {
  switch (s) {
    case IvfStatus::kOk:
      return "ok";
    case IvfStatus::kEnd:
      return "end";
    case IvfStatus::kTooShort:
      return "too_short";
    case IvfStatus::kBadSignature:
      return "bad_signature";
    case IvfStatus::kBadHeaderSize:
      return "bad_header_size";
    case IvfStatus::kBadTimeBase:
      return "bad_time_base";
    case IvfStatus::kTruncatedFrame:
      return "truncated_frame";
    case IvfStatus::kFrameTooLarge:
      return "frame_too_large";
  }
  return "unknown";
}

std::uint64_t IvfHeader::to_90khz(std::uint64_t pts) const {
  return scale(pts, timebase_num, timebase_den, 90000);
}

std::uint64_t IvfHeader::to_us(std::uint64_t pts) const {
  return scale(pts, timebase_num, timebase_den, 1'000'000);
}

IvfStatus IvfReader::open(ByteSpan file, IvfReader& out) {
  if (file.size() < kIvfFileHeaderSize) return IvfStatus::kTooShort;
  const std::uint8_t* p = file.data();
  if (p[0] != 'D' || p[1] != 'K' || p[2] != 'I' || p[3] != 'F') return IvfStatus::kBadSignature;
  IvfHeader h;
  h.version = le16(p + 4);
  h.header_size = le16(p + 6);
  if (h.header_size < kIvfFileHeaderSize || h.header_size > file.size())
    return IvfStatus::kBadHeaderSize;
  for (std::size_t i = 0; i < 4; ++i) h.fourcc[i] = static_cast<char>(p[8 + i]);
  h.width = le16(p + 12);
  h.height = le16(p + 14);
  h.timebase_den = le32(p + 16);
  h.timebase_num = le32(p + 20);
  h.frame_count = le32(p + 24);
  if (h.timebase_den == 0 || h.timebase_num == 0) return IvfStatus::kBadTimeBase;
  out.file_ = file;
  out.header_ = h;
  out.off_ = h.header_size;
  out.failed_ = IvfStatus::kOk;
  return IvfStatus::kOk;
}

IvfStatus IvfReader::next(IvfFrame& out) {
  if (failed_ != IvfStatus::kOk) return failed_;
  const std::size_t left = file_.size() - off_;
  if (left == 0) return IvfStatus::kEnd;
  if (left < kIvfFrameHeaderSize) return failed_ = IvfStatus::kTruncatedFrame;
  const std::uint8_t* p = file_.data() + off_;
  const std::uint32_t size = le32(p);
  if (size > kIvfMaxFrameSize) return failed_ = IvfStatus::kFrameTooLarge;
  if (size > left - kIvfFrameHeaderSize) return failed_ = IvfStatus::kTruncatedFrame;
  out.pts = le64(p + 4);
  out.offset = off_;
  out.data = file_.subspan(off_ + kIvfFrameHeaderSize, size);
  off_ += kIvfFrameHeaderSize + size;
  return IvfStatus::kOk;
}

}  // namespace hype::rtc::video
