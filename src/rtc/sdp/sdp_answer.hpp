// JSEP answer generation for an ICE-lite SFU answering a browser offer: for each offered
// m-section pick the supported codecs (keeping the offer's payload types, order and fmtp,
// plus RTX for the chosen video codecs, and RED over Opus first where it is offered and
// wanted), keep the header extensions the SFU understands
// with the offered ids, mirror the direction and simulcast (send -> recv), and put every
// accepted section in one BUNDLE group with rtcp-mux. Unsupported sections (data channels,
// no common codec) are rejected with port 0, as JSEP requires.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "rtc/sdp/sdp.hpp"

namespace hype::rtc::sdp {

struct AnswerOptions {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint;  // "sha-256 AB:CD:..." from DtlsCertificate::sdp_fingerprint()
  bool ice_lite = true;
  // The SFU is the DTLS server: the browser (actpass) becomes active and sends ClientHello.
  Setup setup = Setup::kPassive;
  std::vector<Candidate> candidates;  // the worker's UDP address(es)
  std::uint64_t session_id = 0;
  // Codec names in preference order is not changed: the offerer's order is kept (JSEP).
  std::vector<std::string> audio_codecs = {"opus"};
  std::vector<std::string> video_codecs = {"VP8", "VP9", "H264", "AV1"};
  std::vector<std::string> rtcp_feedback = {"nack", "nack pli", "ccm fir", "goog-remb",
                                            "transport-cc"};
  std::vector<std::string> header_extensions;  // URIs; empty means the SFU's default set
  // Ask browsers to use Opus DTX (silence costs ~nothing in a 50-person channel) and keep
  // in-band FEC on.
  bool opus_dtx = true;
  // Accept RED (RFC 2198, "red/48000/2" with fmtp "<opus>/<opus>...") where an audio section
  // offers it over the chosen Opus, and list it first: Chromium sends RED only when it is the
  // answer's preferred codec (RFC 3264 lets the answerer order by its own preference).
  bool audio_red = true;
  // Keep generic NACK on audio where offered (the SFU then asks publishers again for audio it
  // lost, and answers listeners' NACKs); video keeps it regardless.
  bool audio_nack = true;
  // Ask for Opus packets of this many ms on audio (a=ptime, RFC 4566 6; Chromium sets its
  // encoder's frame length from the remote description's ptime); 0: say nothing (20 ms in
  // browsers). Never below the offer's Opus minptime.
  int audio_ptime_ms = 0;
  // What a sendrecv offer becomes: the SFU publishes to this participant only when asked.
  Direction answer_to_sendrecv = Direction::kRecvOnly;
};

// Default header extension URIs (audio level, abs-send-time, transport-cc, mid, rid,
// repaired-rid).
std::vector<std::string> default_header_extensions();

// Whether an offered codec of an m-section of `kind` is one the answer keeps.
bool can_answer_codec(std::string_view kind, const Codec& codec, const AnswerOptions& options);

// Whether `red` is RED (RFC 2198) carrying only `primary` (fmtp "111/111", 1 to 8 blocks) at
// its clock rate: the only RED the SFU forwards and unwraps.
bool is_red_over(const Codec& red, const Codec& primary);

Result<SessionDescription> create_answer(const SessionDescription& offer,
                                         const AnswerOptions& options);

}  // namespace hype::rtc::sdp
