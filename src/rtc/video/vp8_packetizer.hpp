// VP8 RTP packetization (RFC 7741, section 4): splits one encoded VP8 frame into RTP payloads
// of at most `max_payload_size` bytes, each starting with a payload descriptor that carries a
// 15-bit picture id (X=1, I=1, M=1: 4 bytes). The first packet of the frame has S=1 and
// PID=0 (the frame is not split along partition boundaries). Sizes are balanced (all
// packets within one byte of each other) so no tiny tail packet follows full ones. The
// marker bit goes on the RTP header of the last packet: the caller's, like the rest of the
// RTP header. No allocation: packets are written one at a time into the caller's buffer.
// Parsing descriptors (the receive side) lives in vp8.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtc/bytes.hpp"

namespace hype::rtc::video {

inline constexpr std::size_t kVp8DescriptorSize = 4;  // with a 15-bit picture id

class Vp8Packetizer {
 public:
  // max_payload_size: the whole RTP payload, descriptor included (e.g. 1200).
  explicit Vp8Packetizer(std::size_t max_payload_size) : max_payload_(max_payload_size) {}

  // How many packets a frame of `frame_size` bytes takes; 0 for an empty frame or a
  // max_payload_size that leaves no room for data.
  std::size_t packet_count(std::size_t frame_size) const;

  // Writes packet `index` (0-based, < packet_count) of `frame` into `out`: the descriptor
  // with `picture_id` (its low 15 bits) and the packet's share of the frame. Returns the
  // payload size, or 0 on a bad index or an `out` too small.
  std::size_t write(ByteSpan frame, std::uint16_t picture_id, std::size_t index,
                    MutableByteSpan out) const;

  std::size_t max_payload_size() const { return max_payload_; }

 private:
  std::size_t max_payload_;
};

}  // namespace hype::rtc::video
