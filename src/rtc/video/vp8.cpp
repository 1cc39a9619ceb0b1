#include "rtc/video/vp8.hpp"

#include "rtc/video/picture_id.hpp"

namespace hype::rtc::video {

Vp8Descriptor parse_vp8(ByteSpan p) {
  Vp8Descriptor d;
  if (p.empty()) return d;
  d.extended = (p[0] & 0x80) != 0;
  d.non_reference = (p[0] & 0x20) != 0;
  d.start = (p[0] & 0x10) != 0;
  d.partition_id = p[0] & 0x07;
  std::size_t i = 1;
  if (d.extended) {
    if (i >= p.size()) return Vp8Descriptor{};
    const std::uint8_t ext = p[i++];
    if (ext & 0x80) {
      d.picture_id_offset = i;
      if (!detail::read_picture_id(p, i, d.picture_id, d.picture_id_15bit)) return Vp8Descriptor{};
    }
    if (ext & 0x40) {
      if (i >= p.size()) return Vp8Descriptor{};
      d.tl0_offset = i;
      d.tl0_pic_idx = p[i++];
    }
    if (ext & 0x30) {  // T or K: one byte TID Y KEYIDX (fields valid only under their bit)
      if (i >= p.size()) return Vp8Descriptor{};
      if (ext & 0x20) {
        d.temporal_id = p[i] >> 6;
        d.layer_sync = (p[i] & 0x20) != 0;
      }
      if (ext & 0x10) d.key_idx = p[i] & 0x1F;
      ++i;
    }
  }
  if (i >= p.size()) return Vp8Descriptor{};  // a descriptor with no VP8 data after it
  d.valid = true;
  d.size = i;
  d.frame_start = d.start && d.partition_id == 0;
  if (d.frame_start && (p[i] & 0x01) == 0)
    d.keyframe = p.size() >= i + 6 && p[i + 3] == 0x9d && p[i + 4] == 0x01 && p[i + 5] == 0x2a;
  return d;
}

PayloadInfo inspect_vp8(ByteSpan payload) {
  const Vp8Descriptor d = parse_vp8(payload);
  PayloadInfo r;
  if (!d.valid) return r;
  r.valid = true;
  r.frame_start = d.frame_start;
  r.keyframe = d.keyframe;
  r.temporal_id = d.temporal_id;
  r.layer_sync = d.layer_sync;
  r.picture_id = d.picture_id;
  r.tl0_pic_idx = d.tl0_pic_idx;
  r.descriptor_size = d.size;
  return r;
}

bool write_vp8_picture_id(MutableByteSpan payload, int picture_id) {
  const Vp8Descriptor d = parse_vp8(payload);
  if (!d.valid || d.picture_id_offset == 0) return false;
  std::uint8_t* p = payload.data() + d.picture_id_offset;
  if (d.picture_id_15bit) {
    p[0] = static_cast<std::uint8_t>(0x80 | ((picture_id >> 8) & 0x7F));
    p[1] = static_cast<std::uint8_t>(picture_id & 0xFF);
  } else {
    p[0] = static_cast<std::uint8_t>(picture_id & 0x7F);
  }
  return true;
}

bool write_vp8_tl0_pic_idx(MutableByteSpan payload, int tl0_pic_idx) {
  const Vp8Descriptor d = parse_vp8(payload);
  if (!d.valid || d.tl0_offset == 0) return false;
  payload[d.tl0_offset] = static_cast<std::uint8_t>(tl0_pic_idx & 0xFF);
  return true;
}

// --- Vp8PictureIdMunger ---

int Vp8PictureIdMunger::diff(int a, int b) const {
  int d = wrap(a - b);
  return d >= modulus_ / 2 ? d - modulus_ : d;
}

Vp8PictureIdMunger::Result Vp8PictureIdMunger::munge(int in_pid, int in_tl0, bool dropped,
                                                     int picture_id_bits) {
  const int tl0 = in_tl0 >= 0 ? (in_tl0 & 0xFF) : -1;
  if (in_pid < 0) {
    // No picture id: pictures cannot be told apart, so nothing to keep continuous but TL0.
    if (dropped) return {};
    return {true, -1, tl0 >= 0 ? ((tl0 - tl0_offset_) & 0xFF) : -1};
  }
  const int modulus = picture_id_bits == 7 ? 1 << 7 : 1 << 15;
  if (modulus != modulus_) {
    if (started_) switch_pending_ = true;
    modulus_ = modulus;
    if (last_out_pid_ >= 0) last_out_pid_ = wrap(last_out_pid_);
  }
  const int pid = wrap(in_pid);
  if (!started_ || switch_pending_) {
    // A new source: its first picture continues the output (or, the very first time, keeps
    // its own numbers).
    pid_offset_ = started_ && last_out_pid_ >= 0 ? wrap(pid - (last_out_pid_ + 1)) : 0;
    tl0_offset_ =
        started_ && tl0 >= 0 && last_out_tl0_ >= 0 ? ((tl0 - (last_out_tl0_ + 1)) & 0xFF) : 0;
    started_ = true;
    switch_pending_ = false;
    first_pid_ = pid;
    last_in_pid_ = pid;
    last_in_tl0_ = tl0;
    drop_count_ = 0;
    return fresh(pid, tl0, dropped, tl0 >= 0);
  }
  const int d = diff(pid, last_in_pid_);
  if (d > 0) {
    bool new_tl0 = false;
    if (tl0 >= 0) {
      const int t = (tl0 - last_in_tl0_) & 0xFF;
      new_tl0 = last_in_tl0_ < 0 || (t > 0 && t < 128);
      if (new_tl0) last_in_tl0_ = tl0;
    }
    last_in_pid_ = pid;
    return fresh(pid, tl0, dropped, new_tl0);
  }
  if (d == 0) {  // another packet of the newest picture
    if (last_dropped_ || dropped) return {};
    return {true, wrap(pid - pid_offset_), tl0 >= 0 ? ((tl0 - tl0_offset_) & 0xFF) : -1};
  }
  if (dropped) return {};
  return late(pid, tl0);
}

Vp8PictureIdMunger::Result Vp8PictureIdMunger::fresh(int pid, int tl0, bool dropped, bool new_tl0) {
  last_dropped_ = dropped;
  if (dropped) {
    drops_[drop_count_ % kHistory] = Drop{pid, new_tl0};
    ++drop_count_;
    pid_offset_ = wrap(pid_offset_ + 1);
    if (new_tl0) tl0_offset_ = (tl0_offset_ + 1) & 0xFF;
    return {};
  }
  Result r{true, wrap(pid - pid_offset_), tl0 >= 0 ? ((tl0 - tl0_offset_) & 0xFF) : -1};
  last_out_pid_ = r.picture_id;
  if (r.tl0_pic_idx >= 0) last_out_tl0_ = r.tl0_pic_idx;
  return r;
}

// A packet of a picture older than the newest: undo the drops that came after it.
Vp8PictureIdMunger::Result Vp8PictureIdMunger::late(int pid, int tl0) const {
  if (diff(pid, first_pid_) < 0) return {};  // from before the source switch
  const std::size_t kept = drop_count_ < kHistory ? drop_count_ : kHistory;
  int pid_offset = pid_offset_;
  int tl0_offset = tl0_offset_;
  for (std::size_t k = 0; k < kept; ++k) {
    const Drop& x = drops_[(drop_count_ - 1 - k) % kHistory];
    const int d = diff(x.pid, pid);
    if (d == 0) return {};  // a packet of a dropped picture
    if (d < 0) break;       // drops are in input order: the rest are older still
    pid_offset = wrap(pid_offset - 1);
    if (x.tl0) tl0_offset = (tl0_offset - 1) & 0xFF;
    // The oldest remembered drop is newer than this picture: earlier drops are forgotten.
    if (k + 1 == kept && drop_count_ > kHistory) return {};
  }
  return {true, wrap(pid - pid_offset), tl0 >= 0 ? ((tl0 - tl0_offset) & 0xFF) : -1};
}

}  // namespace hype::rtc::video
