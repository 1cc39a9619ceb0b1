// The HELP of voice_errors_total, a family fed from several modules (SFU signaling and media,
// the REST voice join, the quality reports): each registers its own `kind` child with this
// text, so the family's HELP is the same whichever registers first.
#pragma once

namespace hype::telemetry {

inline constexpr const char* kVoiceErrorsHelp =
    "seed: voice errors. Voice errors by kind (join_denied: REST voice join refused; "
    "token_rejected: voice token refused on /voice; invalid_sdp: offer refused; signaling: "
    "malformed or unknown signaling message; media_timeout: ICE consent or DTLS lost; "
    "report_rejected: client quality report refused)";

}  // namespace hype::telemetry
