// VP8 RTP payload descriptor (RFC 7741 4.2), read and patched in place. parse_vp8() gives
// every field; inspect_vp8() (payload.hpp) is the codec-neutral summary the SFU gates on. The
// writers and Vp8PictureIdMunger are what an SFU needs to keep a watcher's picture id and
// TL0PICIDX continuous when it drops frames (temporal layers) or switches sources: a VP8
// decoder treats a gap in the picture id as loss and asks for a keyframe. Pure, bounds-checked,
// allocation-free; garbage gives valid == false. Packetizing lives in vp8_packetizer.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rtc/bytes.hpp"
#include "rtc/video/payload.hpp"

namespace hype::rtc::video {

//   X R N S R PID(3) | I L T K RSV(4) | M PictureID(7 or 15) | TL0PICIDX | TID(2) Y KEYIDX(5)
struct Vp8Descriptor {
  bool valid = false;
  bool extended = false;       // X
  bool non_reference = false;  // N: no other frame references this one
  bool start = false;          // S: the first packet of a VP8 partition
  int partition_id = 0;        // PID
  int picture_id = -1;         // I: 7 or 15 bits
  bool picture_id_15bit = false;
  int tl0_pic_idx = -1;               // L
  int temporal_id = -1;               // T
  bool layer_sync = false;            // Y (meaningful with T)
  int key_idx = -1;                   // K
  std::size_t picture_id_offset = 0;  // where the picture id starts (0: absent)
  std::size_t tl0_offset = 0;         // where TL0PICIDX is (0: absent)
  std::size_t size = 0;               // descriptor bytes; VP8 data follows
  bool frame_start = false;           // S && PID == 0
  // frame_start and the VP8 payload header (RFC 6386 9.1) says key frame: P bit (bit 0 of its
  // first byte) 0 and the start code 9d 01 2a at bytes 3-5 (checked so one flipped bit in a
  // delta frame does not pass as a decoder's starting point).
  bool keyframe = false;
};

Vp8Descriptor parse_vp8(ByteSpan payload);

// Rewrite the picture id (in the width the packet already uses: the low 7 or 15 bits of
// `picture_id`) or TL0PICIDX (low 8 bits) in place. False, nothing written, when the
// descriptor does not parse or lacks the field.
bool write_vp8_picture_id(MutableByteSpan payload, int picture_id);
bool write_vp8_tl0_pic_idx(MutableByteSpan payload, int tl0_pic_idx);

// Keeps the picture id and TL0PICIDX a watcher sees continuous across frames the SFU drops and
// across source switches, the way a VP8 decoder expects: output = input - (pictures dropped so
// far), and after a switch the new source continues from the last output. Feed every packet
// (all packets of one picture carry the same picture id; a picture is counted once). A packet
// of an older picture (reordered, or a retransmission) gets the offset that was in force for
// it, as long as it is within the last kHistory drops. -1 in (absent field) gives -1 out.
class Vp8PictureIdMunger {
 public:
  struct Result {
    bool forward = false;  // false: a dropped picture, or too old to map (drop the packet)
    int picture_id = -1;
    int tl0_pic_idx = -1;
  };
  static constexpr std::size_t kHistory = 32;

  // picture_id_bits: 15 or 7, the width the source uses (the modulus of its wrap); a change
  // of width is a source change.
  Result munge(int in_picture_id, int in_tl0_pic_idx, bool dropped, int picture_id_bits = 15);
  // The next picture (from a new source, or the same one after a gap) continues the output.
  void on_source_change() { switch_pending_ = true; }
  void reset() { *this = Vp8PictureIdMunger{}; }

 private:
  struct Drop {
    int pid = 0;       // input picture id of the dropped picture
    bool tl0 = false;  // it also began a new TL0PICIDX
  };
  int wrap(int v) const { return v & (modulus_ - 1); }
  int diff(int a, int b) const;  // a - b in the picture id space, in [-modulus/2, modulus/2)
  Result late(int pid, int tl0) const;
  Result fresh(int pid, int tl0, bool dropped, bool new_tl0);

  bool started_ = false;
  bool switch_pending_ = false;
  int modulus_ = 1 << 15;
  int first_pid_ = 0;    // the current source's first picture: older ones are not mapped
  int last_in_pid_ = 0;  // the newest input picture
  bool last_dropped_ = false;
  int last_in_tl0_ = -1;
  int pid_offset_ = 0;  // output = input - offset
  int tl0_offset_ = 0;
  int last_out_pid_ = -1;
  int last_out_tl0_ = -1;
  std::array<Drop, kHistory> drops_{};
  std::size_t drop_count_ = 0;  // drops of the current source; the last kHistory are in drops_
};

}  // namespace hype::rtc::video
