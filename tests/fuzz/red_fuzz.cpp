// RED (RFC 2198) payloads: parse_red on anything never reads outside the input, its blocks
// tile the payload exactly (headers, then data in order, the primary to the end), and what
// it found written back with write_red parses to the same blocks.
#include <array>
#include <cstddef>
#include <cstdint>

#include "rtc/rtp/red.hpp"

using namespace hype::rtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan in(data, size);
  RedPayload red;
  if (parse_red(in, red) != RedParseStatus::kOk) {
    if (red.count != 0) __builtin_trap();
    return 0;
  }
  if (red.count == 0 || red.count > kMaxRedBlocks) __builtin_trap();
  std::size_t total = 4 * (red.count - 1) + 1;
  const std::uint8_t* expect = data + total;
  for (std::size_t i = 0; i < red.count; ++i) {
    const RedBlock& b = red.blocks[i];
    if (b.data.size() && b.data.data() != expect) __builtin_trap();
    expect += b.data.size();
    total += b.data.size();
    if (b.payload_type > 127) __builtin_trap();
  }
  if (total != size || red.primary().timestamp_offset != 0) __builtin_trap();
  std::array<std::uint8_t, 4096> out{};
  std::size_t n = write_red(std::span<const RedBlock>(red.blocks.data(), red.count), out);
  if (size <= out.size()) {
    if (n != size) __builtin_trap();
    RedPayload again;
    if (parse_red(ByteSpan(out.data(), n), again) != RedParseStatus::kOk ||
        again.count != red.count)
      __builtin_trap();
    for (std::size_t i = 0; i < red.count; ++i) {
      const RedBlock& a = red.blocks[i];
      const RedBlock& b = again.blocks[i];
      if (a.payload_type != b.payload_type || a.timestamp_offset != b.timestamp_offset ||
          a.data.size() != b.data.size() ||
          !std::equal(a.data.begin(), a.data.end(), b.data.begin()))
        __builtin_trap();
    }
  }
  return 0;
}
