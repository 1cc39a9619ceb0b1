// Checks a client's SDP offer against what the SFU needs to answer it and connect, before
// signaling publishes anything: a DTLS fingerprint with a hash we accept, ICE credentials
// of legal length and alphabet (RFC 8839 5.4), rtcp-mux and one BUNDLE transport, and an
// audio m-section with a codec create_answer() keeps. Without this, an offer the DTLS layer
// later refuses was answered as valid and left the session half set up. Pure: no I/O.
#pragma once

#include <cstddef>

#include "core/result.hpp"
#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/sdp_answer.hpp"

namespace hype::rtc::sdp {

struct OfferCheck {
  // The m-section whose ICE credentials and fingerprint the bundled transport uses.
  std::size_t transport = 0;
};

// Error code "invalid_sdp" with a message naming the first problem found. `need_audio`: a
// voice connection's offer needs an audio section the SFU answers; otherwise (a stream
// connection) an audio or a video one will do.
Result<OfferCheck> validate_offer(const SessionDescription& offer, const AnswerOptions& options,
                                  bool need_audio = true);

// RFC 8839 5.4: ice-ufrag 4-256 and ice-pwd 22-256 ice-chars (ALPHA / DIGIT / "+" / "/").
bool valid_ice_ufrag(std::string_view ufrag);
bool valid_ice_pwd(std::string_view pwd);

}  // namespace hype::rtc::sdp
