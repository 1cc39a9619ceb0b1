// VP8 packetization (vp8_packetizer.hpp).
#include "rtc/video/vp8_packetizer.hpp"

#include <cstring>

namespace hype::rtc::video {

std::size_t Vp8Packetizer::packet_count(std::size_t frame_size) const {
  if (frame_size == 0 || max_payload_ <= kVp8DescriptorSize) return 0;
  const std::size_t room = max_payload_ - kVp8DescriptorSize;
  return (frame_size + room - 1) / room;
}

std::size_t Vp8Packetizer::write(ByteSpan frame, std::uint16_t picture_id, std::size_t index,
                                 MutableByteSpan out) const {
  const std::size_t n = packet_count(frame.size());
  if (index >= n) return 0;
  // Balanced split: the first `extra` packets carry one byte more than the others.
  const std::size_t base = frame.size() / n, extra = frame.size() % n;
  const std::size_t len = base + (index < extra ? 1 : 0);
  const std::size_t begin = index * base + (index < extra ? index : extra);
  if (out.size() < kVp8DescriptorSize + len) return 0;
  std::uint8_t* p = out.data();
  p[0] = static_cast<std::uint8_t>(0x80 | (index == 0 ? 0x10 : 0));  // X, S on the first, PID 0
  p[1] = 0x80;                                                       // I: picture id present
  const std::uint16_t pid = picture_id & 0x7FFF;
  p[2] = static_cast<std::uint8_t>(0x80 | (pid >> 8));  // M: 15-bit picture id
  p[3] = static_cast<std::uint8_t>(pid);
  std::memcpy(p + kVp8DescriptorSize, frame.data() + begin, len);
  return kVp8DescriptorSize + len;
}

}  // namespace hype::rtc::video
