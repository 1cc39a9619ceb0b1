#include "rtc/video/av1.hpp"

namespace hype::rtc::video {

namespace {

constexpr int kObuSequenceHeader = 1;

// leb128 at p[i] (at most 8 bytes, as AV1 allows); advances i. False when it runs out.
bool read_leb128(ByteSpan p, std::size_t& i, std::uint64_t& out) {
  out = 0;
  for (int k = 0; k < 8; ++k) {
    if (i >= p.size()) return false;
    const std::uint8_t b = p[i++];
    out |= static_cast<std::uint64_t>(b & 0x7F) << (7 * k);
    if (!(b & 0x80)) return true;
  }
  return false;
}

// An OBU header: forbidden(1) type(4) extension(1) has_size(1) reserved(1), and when the
// extension flag is set temporal_id(3) spatial_id(2) reserved(3). False on a forbidden bit or
// an extension byte missing from the element.
bool read_obu_header(ByteSpan element, Av1Descriptor& d) {
  const std::uint8_t h = element[0];
  if (h & 0x80) return false;
  const int type = (h >> 3) & 0x0F;
  if (d.first_obu_type < 0) d.first_obu_type = type;
  d.has_sequence_header |= type == kObuSequenceHeader;
  if (h & 0x04) {
    if (element.size() < 2) return false;
    if (d.temporal_id < 0) {
      d.temporal_id = element[1] >> 5;
      d.spatial_id = (element[1] >> 3) & 0x03;
    }
  }
  return true;
}

}  // namespace

Av1Descriptor parse_av1(ByteSpan p) {
  Av1Descriptor d;
  if (p.size() < 2) return d;
  const std::uint8_t h = p[0];
  d.continues_obu = (h & 0x80) != 0;
  d.obu_continues = (h & 0x40) != 0;
  d.w = (h >> 4) & 0x03;
  d.new_sequence = (h & 0x08) != 0;
  std::size_t i = 1;
  while (i < p.size()) {
    ++d.element_count;
    std::size_t len = 0;
    if (d.w != 0 && d.element_count == d.w) {
      len = p.size() - i;  // the last element takes the rest
    } else {
      std::uint64_t n = 0;
      if (!read_leb128(p, i, n) || n == 0 || n > p.size() - i) return Av1Descriptor{};
      len = static_cast<std::size_t>(n);
    }
    if (len == 0) return Av1Descriptor{};
    // Every element begins with an OBU header except the first one of a Z=1 packet.
    const bool continued = d.element_count == 1 && d.continues_obu;
    if (!continued && !read_obu_header(p.subspan(i, len), d)) return Av1Descriptor{};
    i += len;
  }
  if (d.element_count == 0 || (d.w != 0 && d.element_count != d.w)) return Av1Descriptor{};
  d.valid = true;
  d.size = 1;
  d.frame_start = !d.continues_obu;
  d.keyframe = d.new_sequence && !d.continues_obu;
  return d;
}

PayloadInfo inspect_av1(ByteSpan payload) {
  const Av1Descriptor d = parse_av1(payload);
  PayloadInfo r;
  if (!d.valid) return r;
  r.valid = true;
  r.frame_start = d.frame_start;
  r.keyframe = d.keyframe;
  r.temporal_id = d.temporal_id;
  r.spatial_id = d.spatial_id;
  r.descriptor_size = d.size;
  return r;
}

}  // namespace hype::rtc::video
