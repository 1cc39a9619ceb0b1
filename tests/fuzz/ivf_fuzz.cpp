// IVF reading (hype-bot's clip files): any input opens or is refused with a status, and
// every frame it yields lies inside the input.
#include <cstddef>
#include <cstdint>

#include "rtc/video/ivf_reader.hpp"

using namespace hype::rtc;
using namespace hype::rtc::video;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan in(data, size);
  IvfReader r;
  if (IvfReader::open(in, r) != IvfStatus::kOk) return 0;
  volatile std::uint64_t sink = r.header().to_90khz(UINT64_MAX) ^ r.header().to_us(12345);
  for (int pass = 0; pass < 2; ++pass) {
    IvfFrame f;
    IvfStatus s;
    while ((s = r.next(f)) == IvfStatus::kOk) {
      if (f.data.data() < data || f.data.data() + f.data.size() > data + size) __builtin_trap();
      sink = sink ^ f.pts ^ r.header().to_90khz(f.pts);
      if (!f.data.empty()) sink = sink ^ f.data[f.data.size() - 1];
    }
    if (r.next(f) != s) __builtin_trap();  // the end or an error is sticky
    r.rewind();
  }
  return 0;
}
