// RED (RFC 2198) audio payloads, as Chromium sends Opus with redundancy ("red/48000/2" with
// fmtp "111/111"): a RED payload is a list of block headers, then the blocks' data in the
// same order. Each header but the last is 4 bytes (F=1, block PT, 14-bit timestamp offset,
// 10-bit length); the last (F=0, block PT) is 1 byte and introduces the primary encoding,
// whose data runs to the end of the payload. parse_red() locates the blocks without copying,
// so the SFU can forward the primary to a subscriber that did not accept RED, or a redundant
// block in place of a packet it lost from the publisher. Pure: no allocation, never throws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rtc/bytes.hpp"

namespace hype::rtc {

// More blocks than this is malformed here (Chromium sends at most 2 redundant + 1 primary).
inline constexpr std::size_t kMaxRedBlocks = 8;

struct RedBlock {
  std::uint8_t payload_type = 0;
  std::uint16_t timestamp_offset = 0;  // subtracted from the packet's timestamp; 0 for the primary
  ByteSpan data;                       // may be empty
};

struct RedPayload {
  std::array<RedBlock, kMaxRedBlocks> blocks{};  // oldest first; the primary is last
  std::size_t count = 0;
  const RedBlock& primary() const { return blocks[count - 1]; }
};

enum class RedParseStatus : std::uint8_t {
  kOk,
  kEmpty,          // no payload at all
  kTruncated,      // a block header or a block's data runs past the payload
  kTooManyBlocks,  // more than kMaxRedBlocks
};

// Splits `payload` (an RTP payload without padding) into blocks. On kOk, count >= 1; on
// any error, count = 0.
RedParseStatus parse_red(ByteSpan payload, RedPayload& out);

// Writes a RED payload of `blocks` (the last one the primary) into `out`; returns its size,
// 0 when it does not fit or a block cannot be described (offset >= 2^14, length >= 2^10).
// For tests and the load generator; the SFU only parses.
std::size_t write_red(std::span<const RedBlock> blocks, MutableByteSpan out);

}  // namespace hype::rtc
