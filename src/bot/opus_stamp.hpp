// The bot's send timestamp carried inside the Opus payload, so that latency is measured the
// same way through any SFU: SFUs forward the payload byte for byte but rebuild or drop RTP
// header extensions they do not know (Janus keeps only the ones it negotiated and rewrites
// abs-send-time with its own clock). The encoded frame is repacked as an Opus code-3 packet
// with padding (RFC 6716 3.2.5, via libopus's opus_packet_pad) and the last 10 padding bytes
// hold "HT" + the sender's steady-clock microseconds, big endian. Decoders ignore padding
// content (RFC 6716: "The decoder MUST accept any value for the padding bytes"), so the
// packet stays valid Opus; it costs 12 bytes per packet on both servers alike.
#pragma once

#include <opus/opus.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace hype::bot {

inline constexpr int kOpusStampBytes = 12;  // pad grows the packet by this much

// Pads `len` bytes of Opus in `data` (capacity >= len + kOpusStampBytes) and writes the stamp;
// returns the new length, or `len` unchanged when the packet cannot be padded.
inline int opus_stamp(std::uint8_t* data, int len, std::uint64_t t_us) {
  if (len < 1 || opus_packet_pad(data, len, len + kOpusStampBytes) != OPUS_OK) return len;
  int n = len + kOpusStampBytes;
  std::uint8_t* s = data + n - 10;
  s[0] = 'H';
  s[1] = 'T';
  for (int i = 0; i < 8; ++i) s[2 + i] = static_cast<std::uint8_t>(t_us >> (56 - 8 * i));
  return n;
}

// The stamp of a packet made by opus_stamp, if any.
inline std::optional<std::uint64_t> opus_read_stamp(const std::uint8_t* d, std::size_t n) {
  if (n < 3 || (d[0] & 3) != 3 || (d[1] & 0x40) == 0) return std::nullopt;
  std::size_t pad = 0, i = 2;
  for (; i < n; ++i) {
    pad += d[i] == 255 ? 254 : d[i];
    if (d[i] != 255) break;
  }
  if (pad < 10 || pad > n) return std::nullopt;
  const std::uint8_t* s = d + n - 10;
  if (s[0] != 'H' || s[1] != 'T') return std::nullopt;
  std::uint64_t t = 0;
  for (int k = 0; k < 8; ++k) t = (t << 8) | s[2 + k];
  return t;
}

}  // namespace hype::bot
