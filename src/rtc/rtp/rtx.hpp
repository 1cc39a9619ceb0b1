// RTX (RFC 4588), receive side: a retransmission arrives on the RTX SSRC with the RTX payload
// type, its payload starting with the original sequence number (OSN). unwrap_rtx() turns it
// back, in place, into the packet it repairs, so everything after it (NACK bookkeeping, the
// packet cache, forwarding) sees the original. The send side is write_forwarded() with
// ForwardHeader::rtx_osn (extension_rewriter.hpp). Pure: no allocation, never throws.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtc/bytes.hpp"
#include "rtc/rtp/rtp_packet.hpp"

namespace hype::rtc {

// `pkt` is parsed over the first `len` bytes of `buf`. On success the packet becomes the
// original: sequence number = OSN, SSRC = primary_ssrc, payload type = apt, the payload
// (and padding) moved two bytes down; `len` and `pkt` describe it. False (nothing changed)
// when the payload has fewer than 2 bytes (a padding-only probe).
bool unwrap_rtx(MutableByteSpan buf, std::size_t& len, RtpPacket& pkt,
                std::uint8_t apt_payload_type, std::uint32_t primary_ssrc);

}  // namespace hype::rtc
