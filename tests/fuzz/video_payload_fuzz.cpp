// Video payload descriptors (VP8, VP9, H.264 mode 1, AV1) on arbitrary bytes: every parser
// must stay inside the payload and report a descriptor no longer than it.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtc/video/payload.hpp"

using namespace hype::rtc::video;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> copy(data, data + size);  // exact bounds for ASan
  for (Codec c : {Codec::kVp8, Codec::kVp9, Codec::kH264, Codec::kAv1}) {
    PayloadInfo i = inspect(c, hype::rtc::ByteSpan(copy.data(), copy.size()));
    if (i.valid && i.descriptor_size > size) __builtin_trap();
    if (!i.valid && (i.keyframe || i.frame_start)) __builtin_trap();
  }
  return 0;
}
