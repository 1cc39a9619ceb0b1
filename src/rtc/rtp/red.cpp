#include "rtc/rtp/red.hpp"

#include <cstring>

namespace hype::rtc {

namespace {

RedParseStatus parse_blocks(ByteSpan payload, RedPayload& out) {
  out.count = 0;
  if (payload.empty()) return RedParseStatus::kEmpty;
  std::size_t pos = 0;
  std::size_t data_len = 0;  // sum of the redundant blocks' lengths
  // Headers: 4 bytes while F is set, then one byte for the primary.
  while (true) {
    if (pos >= payload.size()) return RedParseStatus::kTruncated;
    if (out.count == kMaxRedBlocks) return RedParseStatus::kTooManyBlocks;
    RedBlock& b = out.blocks[out.count];
    const std::uint8_t first = payload[pos];
    b.payload_type = first & 0x7F;
    if ((first & 0x80) == 0) {
      b.timestamp_offset = 0;
      ++pos;
      ++out.count;
      break;
    }
    if (pos + 4 > payload.size()) return RedParseStatus::kTruncated;
    const std::uint32_t rest = (std::uint32_t{payload[pos + 1]} << 16) |
                               (std::uint32_t{payload[pos + 2]} << 8) | payload[pos + 3];
    b.timestamp_offset = static_cast<std::uint16_t>(rest >> 10);
    b.data = ByteSpan(payload.data(), rest & 0x3FF);  // length only, placed below
    data_len += rest & 0x3FF;
    pos += 4;
    ++out.count;
  }
  if (pos + data_len > payload.size()) {
    out.count = 0;
    return RedParseStatus::kTruncated;
  }
  for (std::size_t i = 0; i + 1 < out.count; ++i) {
    const std::size_t len = out.blocks[i].data.size();
    out.blocks[i].data = payload.subspan(pos, len);
    pos += len;
  }
  out.blocks[out.count - 1].data = payload.subspan(pos);
  return RedParseStatus::kOk;
}

}  // namespace

RedParseStatus parse_red(ByteSpan payload, RedPayload& out) {
  const RedParseStatus status = parse_blocks(payload, out);
  if (status != RedParseStatus::kOk) out.count = 0;  // nothing half-parsed is left behind
  return status;
}

std::size_t write_red(std::span<const RedBlock> blocks, MutableByteSpan out) {
  if (blocks.empty() || blocks.size() > kMaxRedBlocks) return 0;
  std::size_t need = 1;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    need += blocks[i].data.size();
    if (i + 1 < blocks.size()) {
      if (blocks[i].timestamp_offset >= (1u << 14) || blocks[i].data.size() >= (1u << 10)) return 0;
      need += 4;
    }
  }
  if (need > out.size()) return 0;
  std::size_t pos = 0;
  for (std::size_t i = 0; i + 1 < blocks.size(); ++i) {
    const auto& b = blocks[i];
    const std::uint32_t rest =
        (std::uint32_t{b.timestamp_offset} << 10) | static_cast<std::uint32_t>(b.data.size());
    out[pos++] = static_cast<std::uint8_t>(0x80 | (b.payload_type & 0x7F));
    out[pos++] = static_cast<std::uint8_t>(rest >> 16);
    out[pos++] = static_cast<std::uint8_t>(rest >> 8);
    out[pos++] = static_cast<std::uint8_t>(rest);
  }
  out[pos++] = blocks.back().payload_type & 0x7F;
  for (const auto& b : blocks) {
    if (!b.data.empty()) std::memcpy(out.data() + pos, b.data.data(), b.data.size());
    pos += b.data.size();
  }
  return pos;
}

}  // namespace hype::rtc
