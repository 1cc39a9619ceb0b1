// The offers an SFU sends a subscriber (JSEP subsequent offers from the answerer side): the
// subscriber's own m-sections as the SFU answered them, followed by one section per stream
// the SFU sends it. Each outgoing section is modelled on the subscriber's last answered
// section of the same kind, so it carries only codecs, header-extension ids, feedback and
// transport attributes that subscriber already negotiated; a stream may narrow the codecs
// further (the publisher's codec), never widen them. Pure: the caller owns mids, SSRCs and
// names (see sfu/signaling_session.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "rtc/sdp/sdp.hpp"

namespace hype::rtc::sdp {

struct OutgoingStream {
  std::string mid;
  std::string kind = "audio";  // "audio" or "video"
  // kSendOnly while the stream carries media; kInactive keeps a section whose stream ended
  // (m-sections are never removed), without SSRC or msid.
  Direction direction = Direction::kSendOnly;
  std::uint32_t ssrc = 0;
  // Video: the SSRC the SFU retransmits on (RFC 4588, a=ssrc-group:FID ssrc rtx_ssrc); 0 for
  // none. Needs an rtx codec the subscriber accepted for an offered primary.
  std::uint32_t rtx_ssrc = 0;
  std::string msid_stream;  // a=msid:<stream> <track>
  std::string msid_track;
  std::string cname;
  // Codec names this stream may be sent in (case-insensitive); empty: every codec the
  // subscriber accepted for this kind. RTX follows the primaries kept.
  std::vector<std::string> codecs;
};

// `own` is the subscriber's session as answered, its m-sections limited to the ones it
// offered itself; its version becomes `session_version`. Fails when a stream has no
// answered section of its kind to model on, when none of its codecs was accepted, or when
// it asks for RTX the subscriber cannot receive.
Result<SessionDescription> build_server_offer(const SessionDescription& own,
                                              const std::vector<OutgoingStream>& streams,
                                              std::uint64_t session_version);

}  // namespace hype::rtc::sdp
