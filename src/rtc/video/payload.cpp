#include "rtc/video/payload.hpp"

#include <cctype>

namespace hype::rtc::video {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// A 7- or 15-bit picture id at p[i] (M bit first); advances i. False when it runs out.
bool picture_id(ByteSpan p, std::size_t& i, int& out) {
  if (i >= p.size()) return false;
  if (p[i] & 0x80) {
    if (i + 1 >= p.size()) return false;
    out = ((p[i] & 0x7F) << 8) | p[i + 1];
    i += 2;
  } else {
    out = p[i] & 0x7F;
    i += 1;
  }
  return true;
}

// H.264: whether a slice NAL (type 1 or 5) starting at `nal` begins a picture: its first
// field, first_mb_in_slice, is ue(v) and 0 exactly when the first bit after the header is 1.
bool slice_starts_picture(ByteSpan nal) {
  return nal.size() >= 2 && (nal[1] & 0x80) != 0;
}

}  // namespace

Codec codec_from_name(std::string_view name) {
  if (iequals(name, "VP8")) return Codec::kVp8;
  if (iequals(name, "VP9")) return Codec::kVp9;
  if (iequals(name, "H264")) return Codec::kH264;
  if (iequals(name, "AV1") || iequals(name, "AV1X")) return Codec::kAv1;
  return Codec::kUnknown;
}

const char* codec_name(Codec c) {
  switch (c) {
    case Codec::kVp8:
      return "VP8";
    case Codec::kVp9:
      return "VP9";
    case Codec::kH264:
      return "H264";
    case Codec::kAv1:
      return "AV1";
    case Codec::kUnknown:
      break;
  }
  return "unknown";
}

PayloadInfo inspect(Codec codec, ByteSpan payload) {
  switch (codec) {
    case Codec::kVp8:
      return inspect_vp8(payload);
    case Codec::kVp9:
      return inspect_vp9(payload);
    case Codec::kH264:
      return inspect_h264(payload);
    case Codec::kAv1:
      return inspect_av1(payload);
    case Codec::kUnknown:
      break;
  }
  return {};
}

// RFC 7741 4.2: X R N S R PID | I L T K RSV | picture id | TL0PICIDX | TID Y KEYIDX.
PayloadInfo inspect_vp8(ByteSpan p) {
  PayloadInfo r;
  if (p.empty()) return r;
  std::size_t i = 1;
  const bool x = (p[0] & 0x80) != 0;
  const bool s = (p[0] & 0x10) != 0;
  const int pid = p[0] & 0x07;
  if (x) {
    if (i >= p.size()) return r;
    const std::uint8_t ext = p[i++];
    if ((ext & 0x80) && !picture_id(p, i, r.picture_id)) return r;
    if (ext & 0x40) {
      if (i >= p.size()) return r;
      r.tl0_pic_idx = p[i++];
    }
    if (ext & 0x30) {  // T or K: one byte TID Y KEYIDX
      if (i >= p.size()) return r;
      if (ext & 0x20) r.temporal_id = p[i] >> 6;
      ++i;
    }
  }
  if (i >= p.size()) return r;  // a descriptor with no VP8 data after it
  r.valid = true;
  r.descriptor_size = i;
  r.frame_start = s && pid == 0;
  // The VP8 payload header (RFC 6386 9.1): bit 0 of its first byte is P, 0 for a key frame,
  // whose header then carries the start code 9d 01 2a at bytes 3-5.
  if (r.frame_start && (p[i] & 0x01) == 0) {
    r.keyframe = p.size() >= i + 6 && p[i + 3] == 0x9d && p[i + 4] == 0x01 && p[i + 5] == 0x2a;
  }
  return r;
}

// RFC 9628 4.2: I P L F B E V Z, picture id, layer indices, P_DIFFs (flexible mode),
// scalability structure.
PayloadInfo inspect_vp9(ByteSpan p) {
  PayloadInfo r;
  if (p.empty()) return r;
  const std::uint8_t h = p[0];
  const bool i_bit = h & 0x80, p_bit = h & 0x40, l_bit = h & 0x20, f_bit = h & 0x10;
  const bool b_bit = h & 0x08, v_bit = h & 0x02;
  std::size_t i = 1;
  if (i_bit && !picture_id(p, i, r.picture_id)) return r;
  if (l_bit) {
    if (i >= p.size()) return r;
    r.temporal_id = p[i] >> 5;
    r.spatial_id = (p[i] >> 1) & 0x07;
    ++i;
    if (!f_bit) {
      if (i >= p.size()) return r;
      r.tl0_pic_idx = p[i++];
    }
  }
  if (f_bit && p_bit) {
    for (int k = 0;; ++k) {  // up to 3 reference indices, N bit chains them
      if (k == 3 || i >= p.size()) return r;
      bool more = p[i++] & 0x01;
      if (!more) break;
    }
  }
  if (v_bit) {
    if (i >= p.size()) return r;
    const std::uint8_t ss = p[i++];
    const int n_s = (ss >> 5) + 1;
    if (ss & 0x10) i += 4u * static_cast<std::size_t>(n_s);  // widths and heights
    if (ss & 0x08) {
      if (i >= p.size()) return r;
      const int n_g = p[i++];
      for (int g = 0; g < n_g; ++g) {
        if (i >= p.size()) return r;
        const int refs = (p[i++] >> 2) & 0x03;
        i += static_cast<std::size_t>(refs);
      }
    }
    if (i > p.size()) return r;
  }
  if (i >= p.size()) return r;
  r.valid = true;
  r.descriptor_size = i;
  r.frame_start = b_bit;
  r.keyframe = b_bit && !p_bit && (!l_bit || r.spatial_id == 0);
  return r;
}

// RFC 6184, packetization-mode 1: single NAL units (1-23), STAP-A (24), FU-A (28). A keyframe
// starts where an IDR slice (5) or an SPS (7) does.
PayloadInfo inspect_h264(ByteSpan p) {
  PayloadInfo r;
  if (p.empty() || (p[0] & 0x80)) return r;  // F bit: a forbidden NAL
  const int type = p[0] & 0x1F;
  if (type >= 1 && type <= 23) {
    r.valid = true;
    r.keyframe = type == 5 || type == 7;
    r.frame_start = type == 7 || type == 8 || type == 9 || type == 6 ||
                    ((type == 1 || type == 5) && slice_starts_picture(p));
    return r;
  }
  if (type == 24) {  // STAP-A: [size16 NAL]...
    std::size_t i = 1;
    bool first = true;
    while (i < p.size()) {
      if (i + 2 > p.size()) return PayloadInfo{};
      const std::size_t n = (static_cast<std::size_t>(p[i]) << 8) | p[i + 1];
      i += 2;
      if (n == 0 || i + n > p.size()) return PayloadInfo{};
      ByteSpan nal = p.subspan(i, n);
      const int t = nal[0] & 0x1F;
      if (t == 5 || t == 7) r.keyframe = true;
      if (first)
        r.frame_start = t == 7 || t == 8 || t == 9 || t == 6 ||
                        ((t == 1 || t == 5) && slice_starts_picture(nal));
      first = false;
      i += n;
    }
    r.valid = !first;
    if (!r.valid) r = PayloadInfo{};
    return r;
  }
  if (type == 28) {  // FU-A: indicator, header S E R type, fragment
    if (p.size() < 3) return r;
    const bool start = p[1] & 0x80;
    const int t = p[1] & 0x1F;
    r.valid = true;
    r.descriptor_size = 2;
    if (start) {
      r.keyframe = t == 5 || t == 7;
      r.frame_start = (t == 1 || t == 5) ? (p[2] & 0x80) != 0 : (t == 7 || t == 9);
    }
    return r;
  }
  return r;  // STAP-B, MTAP, FU-B: not in packetization-mode 1
}

// The AV1 RTP aggregation header: Z Y W(2) N RSV(3), then OBU elements, each but the last
// (when W > 0, the last W-th one) preceded by its leb128 length. N marks the first packet of
// a coded video sequence: a keyframe with its sequence header.
PayloadInfo inspect_av1(ByteSpan p) {
  PayloadInfo r;
  if (p.size() < 2) return r;
  const std::uint8_t h = p[0];
  const bool z = h & 0x80, n = h & 0x08;
  const int w = (h >> 4) & 0x03;
  std::size_t i = 1;
  int element = 0;
  while (i < p.size()) {
    ++element;
    std::size_t len = 0;
    if (w != 0 && element == w) {
      len = p.size() - i;  // the last element takes the rest
    } else {
      int shift = 0;
      for (;;) {  // leb128, at most 8 bytes
        if (i >= p.size() || shift > 56) return PayloadInfo{};
        const std::uint8_t b = p[i++];
        len |= static_cast<std::size_t>(b & 0x7F) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
      }
    }
    if (len == 0 || len > p.size() - i) return PayloadInfo{};
    i += len;
    if (w != 0 && element == w) break;
  }
  if (element == 0 || i != p.size()) return PayloadInfo{};
  r.valid = true;
  r.descriptor_size = 1;
  r.frame_start = !z;
  r.keyframe = n && !z;
  return r;
}

}  // namespace hype::rtc::video
