#include "rtc/sdp/sdp_validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "rtc/dtls_certificate.hpp"

namespace hype::rtc::sdp {
namespace {

bool ice_chars(std::string_view s, std::size_t min, std::size_t max) {
  if (s.size() < min || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  });
}

Error invalid(std::string message) {
  return Error{"invalid_sdp", std::move(message)};
}

// SHA-1 is refused: RFC 8827 6.5 requires at least SHA-256 for WebRTC fingerprints.
std::size_t digest_bytes(const std::string& alg) {
  if (alg == "sha-256") return 32;
  if (alg == "sha-384") return 48;
  if (alg == "sha-512") return 64;
  return 0;
}

std::optional<std::string> fingerprint_problem(const MediaSection& m) {
  if (m.fingerprint.empty())
    return fmt::format("no DTLS fingerprint (a=fingerprint) at session or media level for mid {}",
                       m.mid);
  std::string alg, hex;
  if (!parse_sdp_fingerprint(m.fingerprint, alg, hex)) {
    auto sp = m.fingerprint.find(' ');
    return fmt::format("malformed or unsupported DTLS fingerprint for mid {} (hash '{}')", m.mid,
                       m.fingerprint.substr(0, sp));
  }
  std::size_t want = digest_bytes(alg);
  if (want == 0)
    return fmt::format("DTLS fingerprint hash {} is not accepted (sha-256, sha-384 or sha-512)",
                       alg);
  // hex holds "AB:CD:..." in upper case: 3 characters per byte but the last.
  if ((hex.size() + 1) / 3 != want)
    return fmt::format("DTLS fingerprint for mid {} has {} bytes, {} needs {}", m.mid,
                       (hex.size() + 1) / 3, alg, want);
  return std::nullopt;
}

std::optional<std::string> transport_problem(const MediaSection& m) {
  if (!m.rtcp_mux)
    return fmt::format("m-section mid {} lacks a=rtcp-mux, which the SFU requires", m.mid);
  if (m.ice_ufrag.empty()) return fmt::format("no a=ice-ufrag for mid {}", m.mid);
  if (!valid_ice_ufrag(m.ice_ufrag))
    return fmt::format("a=ice-ufrag of mid {} must be 4 to 256 characters of A-Z a-z 0-9 + /",
                       m.mid);
  if (m.ice_pwd.empty()) return fmt::format("no a=ice-pwd for mid {}", m.mid);
  if (!valid_ice_pwd(m.ice_pwd))
    return fmt::format("a=ice-pwd of mid {} must be 22 to 256 characters of A-Z a-z 0-9 + /",
                       m.mid);
  // The SFU is always the DTLS server: an offerer that insists on passive cannot connect.
  if (m.setup == Setup::kPassive || m.setup == Setup::kHoldconn)
    return fmt::format("a=setup:{} for mid {} is not supported (use actpass or active)",
                       to_string(m.setup), m.mid);
  return fingerprint_problem(m);
}

}  // namespace

bool valid_ice_ufrag(std::string_view ufrag) {
  return ice_chars(ufrag, 4, 256);
}

bool valid_ice_pwd(std::string_view pwd) {
  return ice_chars(pwd, 22, 256);
}

Result<OfferCheck> validate_offer(const SessionDescription& offer, const AnswerOptions& options,
                                  bool need_audio) {
  if (offer.media.empty()) return invalid("offer has no m-sections");
  std::vector<std::size_t> usable;  // RTP sections the answer may accept
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const MediaSection& m = offer.media[i];
    if (m.mid.empty()) return invalid(fmt::format("m-section {} has no a=mid", i));
    for (std::size_t j = 0; j < i; ++j)
      if (offer.media[j].mid == m.mid) return invalid(fmt::format("mid {} is used twice", m.mid));
    if ((m.kind == "audio" || m.kind == "video") && !m.rejected()) usable.push_back(i);
  }
  std::optional<std::size_t> audio;
  for (std::size_t i : usable) {
    const MediaSection& m = offer.media[i];
    if ((m.kind != "audio" && need_audio) || audio) continue;
    for (const Codec& c : m.codecs)
      if (can_answer_codec(m.kind, c, options)) audio = i;
  }
  if (!audio) {
    std::string codecs;
    for (const auto& c : options.audio_codecs) codecs += (codecs.empty() ? "" : ", ") + c;
    if (!need_audio)
      for (const auto& c : options.video_codecs) codecs += ", " + c;
    return invalid(fmt::format("no {} m-section with a codec the SFU can answer ({})",
                               need_audio ? "audio" : "audio or video", codecs));
  }
  for (std::size_t i : usable)
    if (auto problem = transport_problem(offer.media[i])) return invalid(*problem);
  const MediaSection& t = offer.media[*audio];
  if (usable.size() > 1) {
    const Group* bundle = offer.bundle_group();
    for (std::size_t i : usable) {
      const MediaSection& m = offer.media[i];
      bool bundled = bundle && std::find(bundle->mids.begin(), bundle->mids.end(), m.mid) !=
                                   bundle->mids.end();
      if (!bundled)
        return invalid(
            fmt::format("m-section mid {} is not in the BUNDLE group: the SFU serves "
                        "every m-section on one transport",
                        m.mid));
      if (m.ice_ufrag != t.ice_ufrag || m.ice_pwd != t.ice_pwd || m.fingerprint != t.fingerprint)
        return invalid(fmt::format(
            "bundled m-sections mid {} and mid {} differ in ICE credentials or fingerprint", t.mid,
            m.mid));
    }
  }
  return OfferCheck{*audio};
}

}  // namespace hype::rtc::sdp
