#include "rtc/sdp/sdp_answer.hpp"

#include <algorithm>
#include <string>
#include <string_view>

#include "rtc/rtp/header_extensions.hpp"
#include "rtc/sdp/sdp_util.hpp"

namespace hype::rtc::sdp {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view s, bool icase = false) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& x) {
    if (!icase) return x == s;
    Codec c;
    c.name = x;
    return c.is(s);
  });
}

// Adds key=value to an fmtp string unless the key is already there.
void ensure_fmtp(Codec& c, std::string_view key, std::string_view value) {
  if (c.fmtp_param(key)) return;
  if (!c.fmtp.empty()) c.fmtp += ';';
  c.fmtp += std::string(key) + "=" + std::string(value);
}

void reject(MediaSection& m) {
  m.port = 0;
  m.direction = Direction::kInactive;
  m.candidates.clear();
  m.end_of_candidates = false;
}

}  // namespace

bool can_answer_codec(std::string_view kind, const Codec& c, const AnswerOptions& opt) {
  const auto& wanted = kind == "audio" ? opt.audio_codecs : opt.video_codecs;
  if (kind != "audio" && kind != "video") return false;
  if (!contains(wanted, c.name, true)) return false;
  // H264 is only forwarded in packetization-mode=1 (what every browser decodes).
  if (c.is("H264")) return c.fmtp_param("packetization-mode").value_or("0") == "1";
  return true;
}

bool is_red_over(const Codec& red, const Codec& primary) {
  if (!red.is("red") || red.clock_rate != primary.clock_rate) return false;
  // fmtp is "PT/PT[/PT...]" (RFC 2198 section 5), every block the primary's payload type.
  std::string_view f = red.fmtp;
  if (f.empty()) return false;
  const std::string pt = std::to_string(primary.payload_type);
  std::size_t blocks = 0;
  while (true) {
    std::size_t slash = f.find('/');
    if (f.substr(0, slash) != pt || ++blocks > 8) return false;
    if (slash == std::string_view::npos) break;
    f.remove_prefix(slash + 1);
  }
  return true;
}

std::vector<std::string> default_header_extensions() {
  return {std::string(ext_uri::kAudioLevel),  std::string(ext_uri::kAbsSendTime),
          std::string(ext_uri::kTransportCc), std::string(ext_uri::kMid),
          std::string(ext_uri::kRid),         std::string(ext_uri::kRepairedRid)};
}

Result<SessionDescription> create_answer(const SessionDescription& offer,
                                         const AnswerOptions& opt) {
  if (opt.ice_ufrag.size() < 4 || opt.ice_pwd.size() < 22) {
    return Error{"sdp_answer", "ICE ufrag must be >= 4 and pwd >= 22 characters"};
  }
  if (opt.fingerprint.empty()) return Error{"sdp_answer", "missing DTLS fingerprint"};
  if (offer.media.empty()) return Error{"sdp_answer", "offer has no m-sections"};
  const auto exts =
      opt.header_extensions.empty() ? default_header_extensions() : opt.header_extensions;
  SessionDescription a;
  a.session_id = opt.session_id;
  a.session_version = 2;
  a.ice_lite = opt.ice_lite;
  a.msid_semantic = "WMS *";
  a.extmap_allow_mixed = offer.extmap_allow_mixed;
  Group bundle{"BUNDLE", {}};

  for (const MediaSection& om : offer.media) {
    MediaSection m;
    m.kind = om.kind;
    m.protocol = om.protocol;
    m.mid = om.mid;
    m.formats = om.formats;
    m.connection = "IN IP4 0.0.0.0";
    if (om.mid.empty()) return Error{"sdp_answer", "offer m-section without a=mid"};
    bool is_rtp = om.kind == "audio" || om.kind == "video";
    if (!is_rtp || om.rejected() || !om.rtcp_mux) {
      // Data channels are not served by the SFU; rtcp-mux is mandatory for BUNDLE here.
      reject(m);
      if (m.formats.empty()) m.formats.push_back("0");
      a.media.push_back(std::move(m));
      continue;
    }
    std::vector<std::uint8_t> chosen;
    for (const Codec& c : om.codecs) {
      if (can_answer_codec(om.kind, c, opt)) {
        Codec ac = c;
        ac.rtcp_fb.clear();
        for (const auto& fb : c.rtcp_fb) {
          if (om.kind == "audio" && fb == "nack" && !opt.audio_nack) continue;
          if (contains(opt.rtcp_feedback, fb)) ac.rtcp_fb.push_back(fb);
        }
        if (ac.is("opus")) {
          ensure_fmtp(ac, "useinbandfec", "1");
          if (opt.opus_dtx) ensure_fmtp(ac, "usedtx", "1");
        }
        chosen.push_back(c.payload_type);
        m.codecs.push_back(std::move(ac));
      }
    }
    if (om.kind == "audio" && opt.audio_red && !m.codecs.empty() && m.codecs.front().is("opus")) {
      for (const Codec& c : om.codecs) {
        if (!is_red_over(c, m.codecs.front())) continue;
        Codec red = c;
        red.rtcp_fb.clear();
        m.codecs.insert(m.codecs.begin(), std::move(red));
        break;
      }
    }
    if (m.codecs.empty()) {
      reject(m);
      m.codecs.clear();
      a.media.push_back(std::move(m));
      continue;
    }
    // RTX only for chosen primaries, after them (JSEP keeps the offer order otherwise).
    for (const Codec& c : om.codecs) {
      auto apt = c.rtx_apt();
      if (apt && std::find(chosen.begin(), chosen.end(), *apt) != chosen.end()) {
        Codec rtx = c;
        rtx.rtcp_fb.clear();
        m.codecs.push_back(std::move(rtx));
      }
    }
    m.formats.clear();
    for (const auto& c : m.codecs) m.formats.push_back(std::to_string(c.payload_type));
    for (const auto& e : om.extmaps) {
      if (contains(exts, e.uri)) m.extmaps.push_back({e.id, {}, e.uri, {}});
    }
    m.extmap_allow_mixed = om.extmap_allow_mixed;
    if (om.kind == "audio" && opt.audio_ptime_ms > 0) {
      auto ptime = static_cast<unsigned>(opt.audio_ptime_ms);
      for (const Codec& c : m.codecs) {
        auto minptime = c.is("opus") ? c.fmtp_param("minptime") : std::nullopt;
        unsigned v = 0;
        if (minptime && parse_uint(std::string_view(*minptime), v)) ptime = std::max(ptime, v);
      }
      m.set_ptime(ptime);
    }
    m.direction =
        om.direction == Direction::kSendRecv ? opt.answer_to_sendrecv : reverse(om.direction);
    m.rtcp_mux = true;
    m.rtcp_rsize = om.rtcp_rsize;
    m.ice_ufrag = opt.ice_ufrag;
    m.ice_pwd = opt.ice_pwd;
    m.fingerprint = opt.fingerprint;
    m.setup = om.setup == Setup::kActive    ? Setup::kPassive
              : om.setup == Setup::kPassive ? Setup::kActive
                                            : opt.setup;
    m.candidates = opt.candidates;
    m.end_of_candidates = !opt.candidates.empty();
    if (om.kind == "video" && om.simulcast && !om.simulcast->send.empty() &&
        (m.direction == Direction::kRecvOnly || m.direction == Direction::kSendRecv)) {
      Simulcast sc;
      sc.recv = om.simulcast->send;
      m.simulcast = std::move(sc);
      for (const auto& r : om.rids) {
        if (r.direction == "send") m.rids.push_back({r.id, "recv", {}});
      }
    }
    bundle.mids.push_back(m.mid);
    a.media.push_back(std::move(m));
  }
  if (bundle.mids.empty()) return Error{"sdp_answer", "no acceptable m-section in the offer"};
  a.groups.push_back(std::move(bundle));
  return a;
}

}  // namespace hype::rtc::sdp
