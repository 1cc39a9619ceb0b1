// Video RTP payloads as the SFU needs to see them: which codec, whether a packet starts a
// frame, whether it starts a keyframe a decoder can begin with, and the layer and picture
// fields of the payload descriptor. One parser per codec (VP8: RFC 7741; VP9: RFC 9628;
// H.264 packetization-mode 1: RFC 6184; AV1: the AV1 RTP specification's aggregation
// header), and inspect() to dispatch on the track's codec. Forwarding stays codec-agnostic;
// this is only read. Pure, bounds-checked, allocation-free: garbage gives valid == false.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtc/bytes.hpp"

namespace hype::rtc::video {

enum class Codec : std::uint8_t { kUnknown, kVp8, kVp9, kH264, kAv1 };

// Case-insensitive rtpmap name: "VP8", "VP9", "H264", "AV1" (and Chromium's old "AV1X").
Codec codec_from_name(std::string_view name);
const char* codec_name(Codec c);

struct PayloadInfo {
  bool valid = false;        // the payload descriptor parsed
  bool frame_start = false;  // the first packet of a frame
  bool keyframe = false;     // starts a keyframe (a decoder can begin here)
  int temporal_id = -1;      // when the descriptor carries it
  int spatial_id = -1;
  int picture_id = -1;  // VP8/VP9 when present (7 or 15 bits)
  int tl0_pic_idx = -1;
  std::size_t descriptor_size = 0;  // payload descriptor bytes before the codec's own data
};

PayloadInfo inspect(Codec codec, ByteSpan payload);

PayloadInfo inspect_vp8(ByteSpan payload);
PayloadInfo inspect_vp9(ByteSpan payload);
PayloadInfo inspect_h264(ByteSpan payload);
PayloadInfo inspect_av1(ByteSpan payload);

}  // namespace hype::rtc::video
