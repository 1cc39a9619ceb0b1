// The bot's send timestamp carried inside the Opus payload, so that latency is measured the
// same way through any SFU: SFUs forward the payload byte for byte but rebuild or drop RTP
// header extensions they do not know (Janus keeps only the ones it negotiated and rewrites
// abs-send-time with its own clock). The encoded frame is repacked as an Opus code-3 packet
// with padding (RFC 6716 3.2.5, via libopus's opus_packet_pad) and the last 14 padding bytes
// hold "HS" + the sender's steady-clock microseconds + the sender's SSRC, big endian. The
// SSRC names the speaker whatever slot or stream carried the packet (a failover's audio gap
// is measured per speaker, not per slot, whose owner signaling may name late). Decoders
// ignore padding content (RFC 6716: "The decoder MUST accept any value for the padding
// bytes"), so the packet stays valid Opus; it costs 16 bytes per packet on both servers alike.
#pragma once

#include <opus/opus.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace hype::bot {

inline constexpr int kOpusStampBytes = 16;  // pad grows the packet by this much
inline constexpr std::size_t kOpusStampContent = 14;

struct OpusStamp {
  std::uint64_t t_us = 0;
  std::uint32_t sender = 0;  // the sender's SSRC
};

// Pads `len` bytes of Opus in `data` (capacity >= len + kOpusStampBytes) and writes the stamp;
// returns the new length, or `len` unchanged when the packet cannot be padded.
inline int opus_stamp(std::uint8_t* data, int len, std::uint64_t t_us, std::uint32_t sender) {
  if (len < 1 || opus_packet_pad(data, len, len + kOpusStampBytes) != OPUS_OK) return len;
  int n = len + kOpusStampBytes;
  std::uint8_t* s = data + n - kOpusStampContent;
  s[0] = 'H';
  s[1] = 'S';
  for (int i = 0; i < 8; ++i) s[2 + i] = static_cast<std::uint8_t>(t_us >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) s[10 + i] = static_cast<std::uint8_t>(sender >> (24 - 8 * i));
  return n;
}

// The stamp of a packet made by opus_stamp, if any.
inline std::optional<OpusStamp> opus_read_stamp(const std::uint8_t* d, std::size_t n) {
  if (n < 3 || (d[0] & 3) != 3 || (d[1] & 0x40) == 0) return std::nullopt;
  std::size_t pad = 0, i = 2;
  for (; i < n; ++i) {
    pad += d[i] == 255 ? 254 : d[i];
    if (d[i] != 255) break;
  }
  if (pad < kOpusStampContent || pad > n) return std::nullopt;
  const std::uint8_t* s = d + n - kOpusStampContent;
  if (s[0] != 'H' || s[1] != 'S') return std::nullopt;
  OpusStamp out;
  for (int k = 0; k < 8; ++k) out.t_us = (out.t_us << 8) | s[2 + k];
  for (int k = 0; k < 4; ++k) out.sender = (out.sender << 8) | s[10 + k];
  return out;
}

}  // namespace hype::bot
