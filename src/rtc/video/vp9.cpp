#include "rtc/video/vp9.hpp"

#include "rtc/video/picture_id.hpp"

namespace hype::rtc::video {

namespace {

// The scalability structure at p[i] (RFC 9628 4.2.1): N_S(3) Y G RSV(3), N_S+1 (width,
// height) pairs when Y, then N_G and N_G picture descriptions (TID U R(2) RSV(2), R P_DIFFs)
// when G. Advances i; false when it runs past the end.
bool read_ss(ByteSpan p, std::size_t& i, Vp9Descriptor& d) {
  if (i >= p.size()) return false;
  const std::uint8_t ss = p[i++];
  d.has_ss = true;
  d.ss_spatial_layers = (ss >> 5) + 1;
  d.ss_has_resolution = (ss & 0x10) != 0;
  if (d.ss_has_resolution) {
    for (int s = 0; s < d.ss_spatial_layers; ++s) {
      if (p.size() - i < 4) return false;
      d.ss_width[static_cast<std::size_t>(s)] = load_be16(p.data() + i);
      d.ss_height[static_cast<std::size_t>(s)] = load_be16(p.data() + i + 2);
      i += 4;
    }
  }
  if (ss & 0x08) {
    if (i >= p.size()) return false;
    d.ss_pictures_in_group = p[i++];
    for (int g = 0; g < d.ss_pictures_in_group; ++g) {
      if (i >= p.size()) return false;
      const std::size_t refs = (p[i++] >> 2) & 0x03;
      if (p.size() - i < refs) return false;
      i += refs;
    }
  }
  return true;
}

}  // namespace

Vp9Descriptor parse_vp9(ByteSpan p) {
  Vp9Descriptor d;
  if (p.empty()) return d;
  const std::uint8_t h = p[0];
  const bool i_bit = (h & 0x80) != 0;
  d.inter_picture = (h & 0x40) != 0;
  d.has_layer_indices = (h & 0x20) != 0;
  d.flexible = (h & 0x10) != 0;
  d.begin_of_frame = (h & 0x08) != 0;
  d.end_of_frame = (h & 0x04) != 0;
  const bool v_bit = (h & 0x02) != 0;
  d.not_ref_upper = (h & 0x01) != 0;
  std::size_t i = 1;
  if (i_bit && !detail::read_picture_id(p, i, d.picture_id, d.picture_id_15bit))
    return Vp9Descriptor{};
  if (d.has_layer_indices) {
    if (i >= p.size()) return Vp9Descriptor{};
    d.temporal_id = p[i] >> 5;
    d.switching_up = (p[i] & 0x10) != 0;
    d.spatial_id = (p[i] >> 1) & 0x07;
    d.inter_layer_dep = (p[i] & 0x01) != 0;
    ++i;
    if (!d.flexible) {
      if (i >= p.size()) return Vp9Descriptor{};
      d.tl0_pic_idx = p[i++];
    }
  }
  if (d.flexible && d.inter_picture) {
    for (;;) {  // up to 3 P_DIFFs, each N bit announcing another
      if (d.num_p_diffs == 3 || i >= p.size()) return Vp9Descriptor{};
      const std::uint8_t b = p[i++];
      d.p_diffs[static_cast<std::size_t>(d.num_p_diffs++)] = b >> 1;
      if (!(b & 0x01)) break;
    }
  }
  if (v_bit && !read_ss(p, i, d)) return Vp9Descriptor{};
  if (i >= p.size()) return Vp9Descriptor{};  // no VP9 data after the descriptor
  d.valid = true;
  d.size = i;
  d.keyframe = d.begin_of_frame && !d.inter_picture && (!d.has_layer_indices || d.spatial_id == 0);
  return d;
}

PayloadInfo inspect_vp9(ByteSpan payload) {
  const Vp9Descriptor d = parse_vp9(payload);
  PayloadInfo r;
  if (!d.valid) return r;
  r.valid = true;
  r.frame_start = d.begin_of_frame;
  r.keyframe = d.keyframe;
  r.temporal_id = d.temporal_id;
  r.spatial_id = d.spatial_id;
  r.picture_id = d.picture_id;
  r.tl0_pic_idx = d.tl0_pic_idx;
  r.descriptor_size = d.size;
  return r;
}

}  // namespace hype::rtc::video
