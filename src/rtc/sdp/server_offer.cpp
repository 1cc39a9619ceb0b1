#include "rtc/sdp/server_offer.hpp"

#include <algorithm>

namespace hype::rtc::sdp {
namespace {

const MediaSection* model_for(const SessionDescription& own, std::string_view kind) {
  const MediaSection* found = nullptr;
  for (const auto& m : own.media)
    if (m.kind == kind && !m.rejected()) found = &m;  // the last one: the newest negotiation
  return found;
}

bool named(const std::vector<std::string>& names, const Codec& c) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return c.is(n); });
}

// Keeps the primaries the stream may use (all when it names none) and the RTX entries of
// the primaries kept. False when no primary is left.
bool narrow_codecs(MediaSection& m, const std::vector<std::string>& names) {
  std::vector<std::uint8_t> primaries;
  for (const auto& c : m.codecs)
    if (!c.rtx_apt() && (names.empty() || named(names, c))) primaries.push_back(c.payload_type);
  if (primaries.empty()) return false;
  auto kept = [&](std::uint8_t pt) {
    return std::find(primaries.begin(), primaries.end(), pt) != primaries.end();
  };
  std::erase_if(m.codecs, [&](const Codec& c) {
    auto apt = c.rtx_apt();
    return apt ? !kept(*apt) : !kept(c.payload_type);
  });
  m.formats.clear();
  for (const auto& c : m.codecs) m.formats.push_back(std::to_string(c.payload_type));
  return true;
}

bool has_rtx(const MediaSection& m) {
  return std::any_of(m.codecs.begin(), m.codecs.end(),
                     [](const Codec& c) { return c.rtx_apt().has_value(); });
}

}  // namespace

Result<SessionDescription> build_server_offer(const SessionDescription& own,
                                              const std::vector<OutgoingStream>& streams,
                                              std::uint64_t session_version) {
  SessionDescription sd = own;
  sd.session_version = session_version;
  for (const auto& s : streams) {
    const MediaSection* model = model_for(own, s.kind);
    if (!model) return Error{"server_offer", "no answered " + s.kind + " section for " + s.mid};
    MediaSection m = *model;
    m.mid = s.mid;
    m.ssrcs.clear();
    m.msids.clear();
    m.ssrc_groups.clear();
    m.rids.clear();
    m.simulcast.reset();
    if (!narrow_codecs(m, s.codecs))
      return Error{"server_offer", "the subscriber accepted no codec of stream " + s.mid};
    m.direction = s.direction;
    if (s.direction == Direction::kSendOnly || s.direction == Direction::kSendRecv) {
      std::string msid = s.msid_stream + " " + s.msid_track;
      m.msids.push_back(msid);
      m.ssrcs.push_back({s.ssrc, "cname", s.cname});
      m.ssrcs.push_back({s.ssrc, "msid", msid});
      if (s.rtx_ssrc) {
        if (!has_rtx(m))
          return Error{"server_offer", "the subscriber accepted no rtx for stream " + s.mid};
        m.ssrc_groups.push_back({"FID", {s.ssrc, s.rtx_ssrc}});
        m.ssrcs.push_back({s.rtx_ssrc, "cname", s.cname});
        m.ssrcs.push_back({s.rtx_ssrc, "msid", msid});
      }
    }
    sd.media.push_back(std::move(m));
  }
  // A subsequent offer says actpass (RFC 8842 5.5, JSEP); the subscriber's answer keeps the
  // DTLS role it already has (active), so nothing changes on the established association.
  for (auto& m : sd.media) m.setup = Setup::kActpass;
  sd.groups.clear();
  Group bundle{"BUNDLE", {}};
  for (const auto& m : sd.media)
    if (!m.rejected()) bundle.mids.push_back(m.mid);
  sd.groups.push_back(std::move(bundle));
  return sd;
}

}  // namespace hype::rtc::sdp
