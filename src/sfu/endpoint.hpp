// Endpoint: what a Room needs from one member's media connection, and all it knows of it.
// The room decides (who receives which packet with which numbers, when a keyframe is due);
// the endpoint carries it out. A WebRTC participant's endpoint is its sfu::Transport (write
// the subscriber's header, SRTP, queue to its path; an RTCP PLI to the publisher). A
// non-WebRTC egress (an HLS or recording tap on the stream role) implements the same two
// calls over plain RTP or a depacketizer, and joins a room as a listen-only participant.
// Calls come on the room's worker thread, from the packet path: no blocking, no throwing.
#pragma once

#include <cstdint>

#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/rtp/rtp_packet.hpp"

namespace hype::sfu {

struct Subscription;

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // As a subscriber: one packet of `sub` (this endpoint's subscription or audio slot), the
  // publisher's parsed packet with its extensions located, under the outgoing numbers the
  // room chose. Also used for NACK resends (the same seq and ts as the first time).
  virtual void send_rtp(const Subscription& sub, const rtc::RtpPacket& source,
                        const rtc::PacketExtensions& ext, std::uint16_t seq, std::uint32_t ts) = 0;
  // As a subscriber: a NACK answered as RTX on sub.rtx_ssrc (RFC 4588), `osn` the sequence
  // number the packet first went out with. Default: the original packet again.
  virtual void send_rtx(const Subscription& sub, const rtc::RtpPacket& source,
                        const rtc::PacketExtensions& ext, std::uint16_t osn, std::uint32_t ts) {
    send_rtp(sub, source, ext, osn, ts);
  }
  // As a publisher: a subscriber needs a keyframe of this endpoint's track `ssrc` (the room
  // already throttled it per track).
  virtual void request_keyframe(std::uint32_t ssrc) = 0;
  // As a subscriber: what its downlink can take, bits per second, from the send-side
  // bandwidth estimator fed by its transport-wide CC feedback (rtc::bwe). 0: unknown (no
  // transport-cc negotiated, no feedback yet, or not a WebRTC endpoint). For the allocator
  // that splits it across the streams it watches.
  virtual std::uint64_t downlink_estimate_bps() const { return 0; }
  // As a subscriber: the most its streams could use now (the room's allocation: every watched
  // simulcast stream at its top live layer); probing for more than that is waste. 0: nothing
  // to adapt, do not probe.
  virtual void set_allocation_cap(std::uint64_t /*bps*/) {}
};

}  // namespace hype::sfu
