// Video RTP payloads as the SFU needs to see them: which codec, whether a packet starts a
// frame, whether it starts a keyframe a decoder can begin with, and the layer and picture
// fields of the payload descriptor. One parser per codec, each in its own file with the
// codec's full descriptor (vp8.hpp: RFC 7741, also the picture id writers and munger; vp9.hpp:
// RFC 9628; h264.hpp: RFC 6184 packetization-mode 1; av1.hpp: the AV1 RTP specification's
// aggregation header), and inspect() to dispatch on the track's codec. What keyframe and
// frame_start mean per codec is documented there and in docs/design/sfu.md. Pure,
// bounds-checked, allocation-free, never throws: garbage gives valid == false.
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
  // VP8's Y bit (RFC 7741 4.2): this frame depends on base layer (T0) frames only, so a
  // receiver can start taking its temporal layer here. Always false for other codecs.
  bool layer_sync = false;
  int spatial_id = -1;
  int picture_id = -1;  // VP8/VP9 when present (7 or 15 bits)
  int tl0_pic_idx = -1;
  std::size_t descriptor_size = 0;  // payload descriptor bytes before the codec's own data
};

// Dispatches on the codec; kUnknown gives valid == false.
PayloadInfo inspect(Codec codec, ByteSpan payload);

// The per-codec summaries (defined next to each parser).

PayloadInfo inspect_vp8(ByteSpan payload);
PayloadInfo inspect_vp9(ByteSpan payload);
PayloadInfo inspect_h264(ByteSpan payload);
PayloadInfo inspect_av1(ByteSpan payload);

}  // namespace hype::rtc::video
