#include "rtc/video/h264.hpp"

namespace hype::rtc::video {

namespace {

constexpr int kNalSlice = 1;
constexpr int kNalIdr = 5;
constexpr int kNalSei = 6;
constexpr int kNalSps = 7;
constexpr int kNalPps = 8;
constexpr int kNalAud = 9;
constexpr int kNalStapA = 24;
constexpr int kNalFuA = 28;

// first_mb_in_slice is the slice header's first field, ue(v): 0 exactly when its first bit
// (the first bit after the one-byte NAL header) is 1.
bool begins_access_unit(int type, std::uint8_t first_slice_byte) {
  if (type == kNalAud || type == kNalSei || type == kNalSps || type == kNalPps) return true;
  return (type == kNalSlice || type == kNalIdr) && (first_slice_byte & 0x80) != 0;
}

void note(H264Descriptor& d, int type) {
  d.has_idr |= type == kNalIdr;
  d.has_sps |= type == kNalSps;
  d.has_pps |= type == kNalPps;
}

}  // namespace

H264Descriptor parse_h264(ByteSpan p) {
  H264Descriptor d;
  if (p.empty() || (p[0] & 0x80)) return d;  // F: a NAL unit with a bit error
  const int type = p[0] & 0x1F;
  d.nal_ref_idc = (p[0] >> 5) & 0x03;
  if (type >= 1 && type <= 23) {
    d.type = H264PacketType::kSingleNal;
    d.nal_type = type;
    d.nal_count = 1;
    note(d, type);
    d.frame_start = begins_access_unit(type, p.size() > 1 ? p[1] : 0);
  } else if (type == kNalStapA) {  // [size16 NAL unit]...
    d.type = H264PacketType::kStapA;
    d.size = 1;
    std::size_t i = 1;
    while (i < p.size()) {
      if (p.size() - i < 2) return H264Descriptor{};
      const std::size_t n = load_be16(p.data() + i);
      i += 2;
      if (n == 0 || p.size() - i < n) return H264Descriptor{};
      const std::uint8_t hdr = p[i];
      const int t = hdr & 0x1F;
      if ((hdr & 0x80) || t == 0 || t > 23) return H264Descriptor{};
      if (d.nal_count++ == 0) {
        d.nal_type = t;
        d.nal_ref_idc = (hdr >> 5) & 0x03;
        d.frame_start = begins_access_unit(t, n > 1 ? p[i + 1] : 0);
      }
      note(d, t);
      i += n;
    }
    if (d.nal_count == 0) return H264Descriptor{};
  } else if (type == kNalFuA) {  // FU indicator, FU header S E R type(5), fragment
    if (p.size() < 3) return H264Descriptor{};
    d.type = H264PacketType::kFuA;
    d.size = 2;
    d.fu_start = (p[1] & 0x80) != 0;
    d.fu_end = (p[1] & 0x40) != 0;
    d.nal_type = p[1] & 0x1F;
    if ((d.fu_start && d.fu_end) || d.nal_type == 0 || d.nal_type > 23) return H264Descriptor{};
    if (d.fu_start) {
      d.nal_count = 1;
      note(d, d.nal_type);
      d.frame_start = begins_access_unit(d.nal_type, p[2]);
    }
  } else {
    return d;  // 0 and 30-31 reserved; STAP-B, MTAP16/24, FU-B are not in mode 1
  }
  d.valid = true;
  d.keyframe = d.has_idr || d.has_sps;
  return d;
}

PayloadInfo inspect_h264(ByteSpan payload) {
  const H264Descriptor d = parse_h264(payload);
  PayloadInfo r;
  if (!d.valid) return r;
  r.valid = true;
  r.frame_start = d.frame_start;
  r.keyframe = d.keyframe;
  r.descriptor_size = d.size;
  return r;
}

}  // namespace hype::rtc::video
