// Header extensions across an SFU hop. Extension ids are a per-transport agreement (RFC 8285
// a=extmap): a publisher's id 1 may be a subscriber's id 4, or mean nothing to it. So the
// forwarding path never copies the publisher's extension block: index_extensions() locates
// the publisher's known extensions once per incoming packet (under the publisher's ids), and
// write_forwarded() writes each subscriber's copy with a block rebuilt under that
// subscriber's ids: audio level and abs-send-time values copied, sdes:mid set to the
// subscriber's own m-section, transport-cc carrying the SFU's per-subscriber sequence, and
// everything the subscriber did not negotiate (or the SFU does not forward: rid, unknown
// URIs) left out. One-byte (0xBEDE) form when every element fits it, two-byte otherwise.
// Pure and allocation-free: the output goes into the caller's (send) buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rtc/bytes.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "rtc/rtp/rtp_packet.hpp"

namespace hype::rtc {

// The publisher-side extensions the SFU reads or forwards, located in one packet.
struct PacketExtensions {
  std::optional<AudioLevel> audio_level;
  ByteSpan abs_send_time;  // 3 bytes when present, else empty
  std::optional<std::uint16_t> transport_seq;
};

enum class ExtensionStatus : std::uint8_t {
  kOk,
  kMalformed,  // an element runs past the extension block
};

// Locates `sender`'s negotiated extensions in `p`. Elements under ids the sender did not
// negotiate, or with a size their URI does not allow, are ignored; a block in a profile other
// than RFC 8285's two carries no extensions we know.
ExtensionStatus index_extensions(const RtpPacket& p, const ExtensionIds& sender,
                                 PacketExtensions& out);

// The per-subscriber header of a forwarded packet.
struct ForwardHeader {
  std::uint32_t ssrc = 0;
  std::uint16_t sequence_number = 0;
  std::uint32_t timestamp = 0;
  std::uint8_t payload_type = 0;
  std::string_view mid;              // the subscriber's m-section; empty: no sdes:mid
  bool write_transport_seq = false;  // the SFU numbers this subscriber's packets
  std::uint16_t transport_seq = 0;
  // Set: the packet goes out as RTX (RFC 4588), this original sequence number (OSN) written
  // before the payload; the header fields above are the RTX stream's.
  std::optional<std::uint16_t> rtx_osn;
};

// Writes `src` into `out` for a subscriber whose negotiated ids are `receiver`: the header
// from `h` (marker, CSRCs copied), a new extension block (none when nothing is left), then
// the payload and padding unchanged (as RTX: the OSN, then them). Returns the size written, 0 when
// `out` is too small.
std::size_t write_forwarded(const RtpPacket& src, const PacketExtensions& ext,
                            const ExtensionIds& receiver, const ForwardHeader& h,
                            MutableByteSpan out);

}  // namespace hype::rtc
