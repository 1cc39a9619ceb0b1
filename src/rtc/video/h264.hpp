// H.264 RTP payloads in packetization-mode 1 (RFC 6184): single NAL unit packets (NAL types
// 1-23), STAP-A (24) and FU-A (28); STAP-B, MTAP and FU-B (mode 2 only) and reserved types are
// invalid. parse_h264() summarizes what NAL units the packet carries; inspect_h264()
// (payload.hpp) the codec-neutral view. Pure, bounds-checked, allocation-free.
//
// keyframe: the packet carries an IDR slice (5) or an SPS (7), or is the FU-A start of an IDR
// slice: Chromium sends SPS+PPS in a STAP-A, then the IDR, so gating on this starts a watcher
// at the parameter sets.
// frame_start is a heuristic (the payload alone cannot tell where an access unit begins; the
// previous packet's RTP marker bit can): a packet whose first NAL unit is an access unit
// delimiter (9), SEI (6), SPS (7) or PPS (8), or a slice (1, 5; FU-A: its start fragment)
// whose first_mb_in_slice is 0. A frame sent as STAP-A(SPS, PPS) + IDR therefore reports a
// frame start on both; treat it as "a decoder may begin here", not as a frame counter.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtc/bytes.hpp"
#include "rtc/video/payload.hpp"

namespace hype::rtc::video {

enum class H264PacketType : std::uint8_t { kSingleNal, kStapA, kFuA };

struct H264Descriptor {
  bool valid = false;
  H264PacketType type = H264PacketType::kSingleNal;
  int nal_type = -1;    // single: its type; STAP-A: the first aggregated one; FU-A: the fragment's
  int nal_ref_idc = 0;  // NRI of the packet's (first) NAL unit
  int nal_count = 0;    // NAL units begun in this packet (FU-A: 1 at the start fragment, else 0)
  bool fu_start = false;  // FU-A: S
  bool fu_end = false;    // FU-A: E
  bool has_idr = false;
  bool has_sps = false;
  bool has_pps = false;
  bool frame_start = false;  // see the header comment
  bool keyframe = false;
  std::size_t size = 0;  // bytes before NAL data: 0 single, 1 STAP-A header, 2 FU indicator+header
};

H264Descriptor parse_h264(ByteSpan payload);

}  // namespace hype::rtc::video
