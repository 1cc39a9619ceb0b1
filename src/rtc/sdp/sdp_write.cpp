// SDP writer and the small model helpers. Attribute order follows what Chromium emits so
// diffs against browser SDP stay readable.
#include <string>

#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/sdp_util.hpp"

namespace hype::rtc::sdp {

const char* to_string(Direction d) {
  switch (d) {
    case Direction::kSendRecv:
      return "sendrecv";
    case Direction::kSendOnly:
      return "sendonly";
    case Direction::kRecvOnly:
      return "recvonly";
    case Direction::kInactive:
      return "inactive";
  }
  return "inactive";
}

const char* to_string(Setup s) {
  switch (s) {
    case Setup::kActpass:
      return "actpass";
    case Setup::kActive:
      return "active";
    case Setup::kPassive:
      return "passive";
    case Setup::kHoldconn:
      return "holdconn";
    case Setup::kNone:
      break;
  }
  return "";
}

Direction reverse(Direction d) {
  if (d == Direction::kSendOnly) return Direction::kRecvOnly;
  if (d == Direction::kRecvOnly) return Direction::kSendOnly;
  return d;
}

std::optional<std::string> Codec::fmtp_param(std::string_view key) const {
  for (auto kv : split(fmtp, ';')) {
    kv = trim(kv);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    if (lower(trim(kv.substr(0, eq))) == lower(key)) return std::string(trim(kv.substr(eq + 1)));
  }
  return std::nullopt;
}

std::optional<std::uint8_t> Codec::rtx_apt() const {
  if (!is("rtx")) return std::nullopt;
  auto apt = fmtp_param("apt");
  unsigned v = 0;
  if (!apt || !parse_uint(std::string_view(*apt), v) || v > 127) return std::nullopt;
  return static_cast<std::uint8_t>(v);
}

bool Codec::is(std::string_view codec_name) const {
  return lower(name) == lower(codec_name);
}

const Codec* MediaSection::find_codec(std::uint8_t pt) const {
  for (const auto& c : codecs) {
    if (c.payload_type == pt) return &c;
  }
  return nullptr;
}

const Extmap* MediaSection::find_extmap(std::string_view uri) const {
  for (const auto& e : extmaps) {
    if (e.uri == uri) return &e;
  }
  return nullptr;
}

std::optional<unsigned> MediaSection::ptime() const {
  constexpr std::string_view kPrefix = "ptime:";
  for (const auto& a : other_attributes) {
    unsigned v = 0;
    if (std::string_view(a).starts_with(kPrefix) &&
        parse_uint(std::string_view(a).substr(kPrefix.size()), v))
      return v;
  }
  return std::nullopt;
}

void MediaSection::set_ptime(unsigned ms) {
  std::erase_if(other_attributes, [](const std::string& a) { return a.starts_with("ptime:"); });
  other_attributes.push_back("ptime:" + std::to_string(ms));
}

std::string MediaSection::cname() const {
  for (const auto& s : ssrcs) {
    if (s.name == "cname") return s.value;
  }
  return {};
}

const Group* SessionDescription::bundle_group() const {
  for (const auto& g : groups) {
    if (g.semantics == "BUNDLE") return &g;
  }
  return nullptr;
}

const MediaSection* SessionDescription::find_media(std::string_view mid) const {
  for (const auto& m : media) {
    if (m.mid == mid) return &m;
  }
  return nullptr;
}

std::string Candidate::to_string() const {
  std::string s = foundation + " " + std::to_string(component) + " " + transport + " " +
                  std::to_string(priority) + " " + address + " " + std::to_string(port) + " typ " +
                  type;
  if (!related_address.empty()) {
    s += " raddr " + related_address + " rport " + std::to_string(related_port);
  }
  if (!tcp_type.empty()) s += " tcptype " + tcp_type;
  for (const auto& [k, v] : extensions) s += " " + k + " " + v;
  return s;
}

namespace {

void line(std::string& out, char type, const std::string& value) {
  out += type;
  out += '=';
  out += value;
  out += "\r\n";
}

void attr(std::string& out, std::string_view name, std::string_view value = {}) {
  out += "a=";
  out += name;
  if (!value.empty()) {
    out += ':';
    out += value;
  }
  out += "\r\n";
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i];
  }
  return s;
}

std::string simulcast_streams(const std::vector<std::vector<std::string>>& streams) {
  std::string s;
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (i) s += ';';
    s += join(streams[i], ',');
  }
  return s;
}

void write_media(std::string& out, const MediaSection& m) {
  std::string mline = m.kind + " " + std::to_string(m.port) + " " + m.protocol;
  for (const auto& f : m.formats) mline += " " + f;
  line(out, 'm', mline);
  line(out, 'c', m.connection);
  if (!m.rtcp.empty()) attr(out, "rtcp", m.rtcp);
  for (const auto& c : m.candidates) attr(out, "candidate", c.to_string());
  if (m.end_of_candidates) attr(out, "end-of-candidates");
  if (!m.ice_ufrag.empty()) attr(out, "ice-ufrag", m.ice_ufrag);
  if (!m.ice_pwd.empty()) attr(out, "ice-pwd", m.ice_pwd);
  if (!m.ice_options.empty()) {
    std::string o;
    for (std::size_t i = 0; i < m.ice_options.size(); ++i) o += (i ? " " : "") + m.ice_options[i];
    attr(out, "ice-options", o);
  }
  if (!m.fingerprint.empty()) attr(out, "fingerprint", m.fingerprint);
  if (m.setup != Setup::kNone) attr(out, "setup", to_string(m.setup));
  if (!m.mid.empty()) attr(out, "mid", m.mid);
  for (const auto& e : m.extmaps) {
    std::string v = std::to_string(e.id);
    if (!e.direction.empty()) v += "/" + e.direction;
    v += " " + e.uri;
    if (!e.extension_attributes.empty()) v += " " + e.extension_attributes;
    attr(out, "extmap", v);
  }
  if (m.extmap_allow_mixed) attr(out, "extmap-allow-mixed");
  attr(out, to_string(m.direction));
  for (const auto& id : m.msids) attr(out, "msid", id);
  if (m.rtcp_mux) attr(out, "rtcp-mux");
  if (m.rtcp_rsize) attr(out, "rtcp-rsize");
  for (const auto& c : m.codecs) {
    if (c.name.empty()) continue;
    std::string v =
        std::to_string(c.payload_type) + " " + c.name + "/" + std::to_string(c.clock_rate);
    if (c.channels) v += "/" + std::to_string(c.channels);
    attr(out, "rtpmap", v);
    for (const auto& fb : c.rtcp_fb)
      attr(out, "rtcp-fb", std::to_string(c.payload_type) + " " + fb);
    if (!c.fmtp.empty()) attr(out, "fmtp", std::to_string(c.payload_type) + " " + c.fmtp);
  }
  for (const auto& g : m.ssrc_groups) {
    std::string v = g.semantics;
    for (auto s : g.ssrcs) v += " " + std::to_string(s);
    attr(out, "ssrc-group", v);
  }
  for (const auto& s : m.ssrcs) {
    std::string v = std::to_string(s.ssrc) + " " + s.name;
    if (!s.value.empty()) v += ":" + s.value;
    attr(out, "ssrc", v);
  }
  for (const auto& r : m.rids) {
    attr(out, "rid", r.id + " " + r.direction + (r.params.empty() ? "" : " " + r.params));
  }
  if (m.simulcast) {
    std::string v;
    if (!m.simulcast->send.empty()) v += "send " + simulcast_streams(m.simulcast->send);
    if (!m.simulcast->recv.empty()) {
      v += (v.empty() ? "" : " ") + std::string("recv ") + simulcast_streams(m.simulcast->recv);
    }
    attr(out, "simulcast", v);
  }
  for (const auto& a : m.other_attributes) out += "a=" + a + "\r\n";
}

}  // namespace

std::string write(const SessionDescription& sd) {
  std::string out;
  out.reserve(4096);
  line(out, 'v', "0");
  line(out, 'o',
       sd.origin_username + " " + std::to_string(sd.session_id) + " " +
           std::to_string(sd.session_version) + " " + sd.origin_address);
  line(out, 's', sd.session_name);
  line(out, 't', sd.timing);
  for (const auto& g : sd.groups) {
    std::string v = g.semantics;
    for (const auto& mid : g.mids) v += " " + mid;
    attr(out, "group", v);
  }
  if (sd.ice_lite) attr(out, "ice-lite");
  if (sd.extmap_allow_mixed) attr(out, "extmap-allow-mixed");
  if (!sd.msid_semantic.empty()) attr(out, "msid-semantic", " " + sd.msid_semantic);
  if (!sd.ice_ufrag.empty()) attr(out, "ice-ufrag", sd.ice_ufrag);
  if (!sd.ice_pwd.empty()) attr(out, "ice-pwd", sd.ice_pwd);
  if (!sd.fingerprint.empty()) attr(out, "fingerprint", sd.fingerprint);
  if (sd.setup != Setup::kNone) attr(out, "setup", to_string(sd.setup));
  for (const auto& a : sd.other_attributes) out += "a=" + a + "\r\n";
  for (const auto& m : sd.media) write_media(out, m);
  return out;
}

}  // namespace hype::rtc::sdp
