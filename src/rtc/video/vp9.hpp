// VP9 RTP payload descriptor (RFC 9628 4.2): flexible and non-flexible mode, layer indices,
// reference P_DIFFs and the scalability structure (SS), which is skipped over exactly and
// summarized. parse_vp9() gives every field; inspect_vp9() (payload.hpp) the codec-neutral
// summary. Pure, bounds-checked, allocation-free; garbage gives valid == false.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rtc/bytes.hpp"
#include "rtc/video/payload.hpp"

namespace hype::rtc::video {

//   I P L F B E V Z | M PictureID(7/15) | TID(3) U SID(3) D | TL0PICIDX (non-flexible) |
//   P_DIFF(7) N ... (flexible, P=1, up to 3) | SS (V=1)
struct Vp9Descriptor {
  bool valid = false;
  bool inter_picture = false;      // P: the picture references an earlier one
  bool flexible = false;           // F
  bool begin_of_frame = false;     // B: first packet of a (layer) frame
  bool end_of_frame = false;       // E
  bool not_ref_upper = false;      // Z: no upper spatial layer of this picture references it
  bool has_layer_indices = false;  // L
  int picture_id = -1;             // I
  bool picture_id_15bit = false;
  int temporal_id = -1;  // L
  int spatial_id = -1;
  bool switching_up = false;     // U
  bool inter_layer_dep = false;  // D: depends on the spatial layer below
  int tl0_pic_idx = -1;          // L, non-flexible mode
  int num_p_diffs = 0;           // F && P
  std::array<std::uint8_t, 3> p_diffs{};
  // Scalability structure (V): how many spatial layers, their sizes when Y, and how many
  // pictures the group of frames (G) describes (0 when G is not set).
  bool has_ss = false;
  int ss_spatial_layers = 0;
  bool ss_has_resolution = false;
  std::array<std::uint16_t, 8> ss_width{};
  std::array<std::uint16_t, 8> ss_height{};
  int ss_pictures_in_group = 0;
  std::size_t size = 0;  // descriptor bytes; VP9 data follows
  // B && !P && (no layer indices or SID 0): the start of a picture decodable on its own.
  bool keyframe = false;
};

Vp9Descriptor parse_vp9(ByteSpan payload);

}  // namespace hype::rtc::video
