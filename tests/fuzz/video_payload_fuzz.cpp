// Video payload descriptors (VP8, VP9, H.264 mode 1, AV1) on arbitrary bytes: every parser
// must stay inside the payload, report a descriptor no longer than it, and agree with
// inspect(); the VP8 writers, run on a copy, must change only the field they write (the
// copy parses to the same descriptor with the new value); the picture id munger, fed the
// parsed fields, must keep its output in range.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtc/video/av1.hpp"
#include "rtc/video/h264.hpp"
#include "rtc/video/payload.hpp"
#include "rtc/video/vp8.hpp"
#include "rtc/video/vp9.hpp"

using namespace hype::rtc::video;
using hype::rtc::ByteSpan;
using hype::rtc::MutableByteSpan;

namespace {

void check_vp8_writers(const std::vector<std::uint8_t>& in, const Vp8Descriptor& d) {
  std::vector<std::uint8_t> copy = in;
  const int pid = in.empty() ? 0 : in.back() * 131;
  const bool wrote = write_vp8_picture_id(MutableByteSpan(copy.data(), copy.size()), pid);
  if (wrote != (d.valid && d.picture_id >= 0)) __builtin_trap();
  const bool wrote_tl0 = write_vp8_tl0_pic_idx(MutableByteSpan(copy.data(), copy.size()), pid);
  if (wrote_tl0 != (d.valid && d.tl0_pic_idx >= 0)) __builtin_trap();
  const Vp8Descriptor after = parse_vp8(ByteSpan(copy.data(), copy.size()));
  if (after.valid != d.valid || after.size != d.size) __builtin_trap();
  if (!d.valid) {
    if (copy != in) __builtin_trap();
    return;
  }
  const int mask = d.picture_id_15bit ? 0x7FFF : 0x7F;
  if (wrote && after.picture_id != (pid & mask)) __builtin_trap();
  if (wrote_tl0 && after.tl0_pic_idx != (pid & 0xFF)) __builtin_trap();
  for (std::size_t i = d.size; i < in.size(); ++i)  // the VP8 data is untouched
    if (copy[i] != in[i]) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> copy(data, data + size);  // exact bounds for ASan
  const ByteSpan p(copy.data(), copy.size());
  for (Codec c : {Codec::kVp8, Codec::kVp9, Codec::kH264, Codec::kAv1}) {
    PayloadInfo i = inspect(c, p);
    if (i.valid && i.descriptor_size > size) __builtin_trap();
    if (!i.valid && (i.keyframe || i.frame_start)) __builtin_trap();
  }
  const Vp8Descriptor v8 = parse_vp8(p);
  if (v8.valid != inspect_vp8(p).valid || (v8.valid && v8.size >= size)) __builtin_trap();
  check_vp8_writers(copy, v8);
  const Vp9Descriptor v9 = parse_vp9(p);
  if (v9.valid && (v9.size >= size || v9.num_p_diffs > 3 || v9.ss_spatial_layers > 8))
    __builtin_trap();
  const H264Descriptor h = parse_h264(p);
  if (h.valid && h.keyframe != (h.has_idr || h.has_sps)) __builtin_trap();
  const Av1Descriptor a = parse_av1(p);
  if (a.valid && (a.element_count < 1 || (a.w != 0 && a.element_count != a.w))) __builtin_trap();

  // The munger, fed successive 3-byte records (picture id, tl0, flags) from the input.
  Vp8PictureIdMunger m;
  for (std::size_t i = 0; i + 3 <= size; i += 3) {
    const int bits = data[i + 2] & 0x10 ? 7 : 15;
    if (data[i + 2] & 0x20) m.on_source_change();
    const int pid = (data[i + 2] & 0x40) ? -1 : ((data[i] << 8) | data[i + 1]);
    const int tl0 = (data[i + 2] & 0x80) ? -1 : data[i + 1];
    auto r = m.munge(pid, tl0, data[i + 2] & 0x01, bits);
    if (r.picture_id >= (1 << bits) || r.tl0_pic_idx > 255) __builtin_trap();
    if (!r.forward && (r.picture_id != -1 || r.tl0_pic_idx != -1)) __builtin_trap();
    if (r.forward && pid >= 0 && r.picture_id < 0) __builtin_trap();
  }
  return 0;
}
