// AV1 RTP payloads (the AV1 RTP payload format, section 4.4): the one-byte aggregation header
// Z Y W(2) N RSV(3), then OBU elements, each preceded by its leb128 length except the last
// one when W > 0 (W = the number of elements). parse_av1() walks the elements exactly (a
// length running past the packet, W disagreeing with the count, or a set forbidden bit in an
// OBU header makes it invalid) and reads the OBU headers the packet begins (the first element
// of a Z=1 packet continues an OBU and has none). Layer ids come from the first OBU extension
// header; the dependency descriptor header extension is not read here. Pure, bounds-checked,
// allocation-free.
//
// keyframe = N && !Z: N marks the first packet of a coded video sequence (a sequence header
// and a key frame), the only point a decoder can join at. frame_start = !Z: a packet that
// does not continue an OBU begins one (a heuristic: a frame can span several OBUs; the RTP
// marker bit of the previous packet ends a temporal unit).
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtc/bytes.hpp"
#include "rtc/video/payload.hpp"

namespace hype::rtc::video {

struct Av1Descriptor {
  bool valid = false;
  bool continues_obu = false;  // Z: the first element continues the previous packet's OBU
  bool obu_continues = false;  // Y: the last element continues in the next packet
  int w = 0;                   // W: element count when 1-3, 0: every element has a length
  bool new_sequence = false;   // N
  int element_count = 0;
  int first_obu_type = -1;           // of the first OBU header in the packet (-1: none begins here)
  bool has_sequence_header = false;  // an OBU_SEQUENCE_HEADER (1) begins in this packet
  int temporal_id = -1;              // from the first OBU extension header
  int spatial_id = -1;
  std::size_t size = 0;  // the aggregation header (1)
  bool frame_start = false;
  bool keyframe = false;
};

Av1Descriptor parse_av1(ByteSpan payload);

}  // namespace hype::rtc::video
