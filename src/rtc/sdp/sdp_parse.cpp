// SDP parser: line by line, strict about structure (v= first, type=value lines, numeric
// fields), tolerant about unknown attributes (kept verbatim).
#include <charconv>
#include <string>

#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/sdp_util.hpp"

namespace hype::rtc::sdp {
namespace {

Error err(std::string message, std::size_t line) {
  return Error{"sdp_malformed", "line " + std::to_string(line) + ": " + std::move(message)};
}

std::optional<Direction> parse_direction(std::string_view a) {
  if (a == "sendrecv") return Direction::kSendRecv;
  if (a == "sendonly") return Direction::kSendOnly;
  if (a == "recvonly") return Direction::kRecvOnly;
  if (a == "inactive") return Direction::kInactive;
  return std::nullopt;
}

std::optional<Setup> parse_setup(std::string_view v) {
  if (v == "actpass") return Setup::kActpass;
  if (v == "active") return Setup::kActive;
  if (v == "passive") return Setup::kPassive;
  if (v == "holdconn") return Setup::kHoldconn;
  return std::nullopt;
}

Codec* codec_for(MediaSection& m, std::uint8_t pt) {
  for (auto& c : m.codecs) {
    if (c.payload_type == pt) return &c;
  }
  return nullptr;
}

// Fills name/clock for static payload types that browsers may omit an rtpmap for.
void fill_static(Codec& c) {
  if (!c.name.empty()) return;
  switch (c.payload_type) {
    case 0:
      c.name = "PCMU", c.clock_rate = 8000, c.channels = 1;
      break;
    case 8:
      c.name = "PCMA", c.clock_rate = 8000, c.channels = 1;
      break;
    case 9:
      c.name = "G722", c.clock_rate = 8000, c.channels = 1;
      break;
    case 13:
      c.name = "CN", c.clock_rate = 8000, c.channels = 1;
      break;
    default:
      break;
  }
}

bool parse_pt(std::string_view s, std::uint8_t& pt) {
  unsigned v = 0;
  if (!parse_uint(s, v) || v > 127) return false;
  pt = static_cast<std::uint8_t>(v);
  return true;
}

bool parse_simulcast(std::string_view v, Simulcast& out) {
  auto parts = split_ws(v);
  if (parts.empty() || parts.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < parts.size(); i += 2) {
    std::vector<std::vector<std::string>>* dst;
    if (parts[i] == "send") {
      dst = &out.send;
    } else if (parts[i] == "recv") {
      dst = &out.recv;
    } else {
      return false;
    }
    for (auto stream : split(parts[i + 1], ';')) {
      std::vector<std::string> alts;
      for (auto alt : split(stream, ',')) {
        if (alt.empty() || (alt == "~")) return false;
        alts.emplace_back(alt);
      }
      if (alts.empty()) return false;
      dst->push_back(std::move(alts));
    }
  }
  return true;
}

// Returns an error message or empty on success.
std::string parse_media_attribute(MediaSection& m, std::string_view name, std::string_view value,
                                  bool has_value) {
  if (auto d = parse_direction(name); d && !has_value) {
    m.direction = *d;
  } else if (name == "mid") {
    // RFC 8843: a token; whitespace would break a=group lines.
    if (value.empty() || value.find_first_of(" \t") != std::string_view::npos) return "bad mid";
    m.mid = value;
  } else if (name == "rtcp-mux") {
    m.rtcp_mux = true;
  } else if (name == "rtcp-rsize") {
    m.rtcp_rsize = true;
  } else if (name == "rtcp") {
    m.rtcp = value;
  } else if (name == "ice-ufrag") {
    m.ice_ufrag = value;
  } else if (name == "ice-pwd") {
    m.ice_pwd = value;
  } else if (name == "ice-options") {
    for (auto o : split_ws(value)) m.ice_options.emplace_back(o);
  } else if (name == "fingerprint") {
    if (split_ws(value).size() != 2) return "bad fingerprint";
    m.fingerprint = value;
  } else if (name == "setup") {
    auto s = parse_setup(value);
    if (!s) return "bad setup";
    m.setup = *s;
  } else if (name == "candidate") {
    auto c = Candidate::parse(value);
    if (!c.ok()) return c.error().message;
    m.candidates.push_back(std::move(c.value()));
  } else if (name == "end-of-candidates") {
    m.end_of_candidates = true;
  } else if (name == "rtpmap") {
    // "<pt> <name>/<clock>[/<channels>]"
    auto sp = value.find(' ');
    std::uint8_t pt = 0;
    if (sp == std::string_view::npos || !parse_pt(value.substr(0, sp), pt)) return "bad rtpmap";
    auto enc = split(value.substr(sp + 1), '/');
    unsigned clock = 0, ch = 0;
    if (enc.size() < 2 || enc.size() > 3 || enc[0].empty() || !parse_uint(enc[1], clock) ||
        (enc.size() == 3 && (!parse_uint(enc[2], ch) || ch > 255))) {
      return "bad rtpmap";
    }
    if (Codec* c = codec_for(m, pt)) {
      c->name = enc[0];
      c->clock_rate = clock;
      c->channels = static_cast<std::uint16_t>(ch);
    }
  } else if (name == "fmtp") {
    auto sp = value.find(' ');
    std::uint8_t pt = 0;
    if (sp == std::string_view::npos || !parse_pt(value.substr(0, sp), pt)) return "bad fmtp";
    if (Codec* c = codec_for(m, pt)) c->fmtp = trim(value.substr(sp + 1));
  } else if (name == "rtcp-fb") {
    auto sp = value.find(' ');
    if (sp == std::string_view::npos) return "bad rtcp-fb";
    auto pt_str = value.substr(0, sp);
    std::string fb(trim(value.substr(sp + 1)));
    if (pt_str == "*") {
      for (auto& c : m.codecs) c.rtcp_fb.push_back(fb);
    } else {
      std::uint8_t pt = 0;
      if (!parse_pt(pt_str, pt)) return "bad rtcp-fb";
      if (Codec* c = codec_for(m, pt)) c->rtcp_fb.push_back(fb);
    }
  } else if (name == "extmap") {
    auto parts = split_ws(value);
    if (parts.size() < 2) return "bad extmap";
    Extmap e;
    auto id_dir = parts[0];
    if (auto slash = id_dir.find('/'); slash != std::string_view::npos) {
      e.direction = id_dir.substr(slash + 1);
      id_dir = id_dir.substr(0, slash);
    }
    unsigned id = 0;
    if (!parse_uint(id_dir, id) || id == 0 || id > 255) return "bad extmap id";
    e.id = static_cast<std::uint16_t>(id);
    e.uri = parts[1];
    for (std::size_t i = 2; i < parts.size(); ++i) {
      if (!e.extension_attributes.empty()) e.extension_attributes += ' ';
      e.extension_attributes += parts[i];
    }
    m.extmaps.push_back(std::move(e));
  } else if (name == "extmap-allow-mixed") {
    m.extmap_allow_mixed = true;
  } else if (name == "msid") {
    m.msids.emplace_back(value);
  } else if (name == "ssrc") {
    auto sp = value.find(' ');
    SsrcAttribute s;
    if (!parse_uint(value.substr(0, sp), s.ssrc)) return "bad ssrc";
    if (sp != std::string_view::npos) {
      auto attr = value.substr(sp + 1);
      auto colon = attr.find(':');
      s.name = attr.substr(0, colon);
      if (colon != std::string_view::npos) s.value = attr.substr(colon + 1);
    }
    m.ssrcs.push_back(std::move(s));
  } else if (name == "ssrc-group") {
    auto parts = split_ws(value);
    if (parts.size() < 2) return "bad ssrc-group";
    SsrcGroup g;
    g.semantics = parts[0];
    for (std::size_t i = 1; i < parts.size(); ++i) {
      std::uint32_t s = 0;
      if (!parse_uint(parts[i], s)) return "bad ssrc-group";
      g.ssrcs.push_back(s);
    }
    m.ssrc_groups.push_back(std::move(g));
  } else if (name == "rid") {
    auto parts = split_ws(value);
    if (parts.size() < 2 || parts.size() > 3 || (parts[1] != "send" && parts[1] != "recv")) {
      return "bad rid";
    }
    Rid r{std::string(parts[0]), std::string(parts[1]),
          parts.size() == 3 ? std::string(parts[2]) : std::string()};
    m.rids.push_back(std::move(r));
  } else if (name == "simulcast") {
    Simulcast s;
    if (!parse_simulcast(value, s)) return "bad simulcast";
    m.simulcast = std::move(s);
  } else {
    m.other_attributes.push_back(has_value ? std::string(name) + ":" + std::string(value)
                                           : std::string(name));
  }
  return {};
}

}  // namespace

Result<Candidate> Candidate::parse(std::string_view value) {
  auto p = split_ws(value);
  Candidate c;
  unsigned comp = 0, port = 0;
  if (p.size() < 8 || p[6] != "typ" || !parse_uint(p[1], comp) || !parse_uint(p[3], c.priority) ||
      !parse_uint(p[5], port) || port > 65535 || comp == 0 || comp > 256) {
    return Error{"sdp_malformed", "bad candidate"};
  }
  c.foundation = p[0];
  c.component = comp;
  c.transport = lower(p[2]);
  c.address = p[4];
  c.port = static_cast<std::uint16_t>(port);
  c.type = p[7];
  std::size_t i = 8;
  for (; i + 1 < p.size(); i += 2) {
    if (p[i] == "raddr") {
      c.related_address = p[i + 1];
    } else if (p[i] == "rport") {
      unsigned rp = 0;
      if (!parse_uint(p[i + 1], rp) || rp > 65535) return Error{"sdp_malformed", "bad rport"};
      c.related_port = static_cast<std::uint16_t>(rp);
    } else if (p[i] == "tcptype") {
      c.tcp_type = p[i + 1];
    } else {
      c.extensions.emplace_back(p[i], p[i + 1]);
    }
  }
  if (i != p.size()) return Error{"sdp_malformed", "dangling candidate attribute"};
  return c;
}

Result<SessionDescription> parse(std::string_view text) {
  SessionDescription sd;
  MediaSection* m = nullptr;
  std::size_t line_no = 0;
  bool seen_v = false, seen_o = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;  // tolerate a trailing blank line
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return err("expected <type>=<value>", line_no);
    }
    char type = line[0];
    std::string_view value = line.substr(2);
    if (!seen_v) {
      if (type != 'v' || value != "0") return err("first line must be v=0", line_no);
      seen_v = true;
      continue;
    }
    switch (type) {
      case 'o': {
        auto p = split_ws(value);
        if (p.size() != 6 || !parse_uint(p[1], sd.session_id) ||
            !parse_uint(p[2], sd.session_version)) {
          return err("bad o= line", line_no);
        }
        sd.origin_username = p[0];
        sd.origin_address = std::string(p[3]) + " " + std::string(p[4]) + " " + std::string(p[5]);
        seen_o = true;
        break;
      }
      case 's':
        sd.session_name = value;
        break;
      case 't':
        sd.timing = value;
        break;
      case 'c':
        if (m) m->connection = value;
        break;
      case 'm': {
        auto p = split_ws(value);
        unsigned port = 0;
        auto port_str = p.size() > 1 ? p[1].substr(0, p[1].find('/')) : std::string_view{};
        if (p.size() < 3 || !parse_uint(port_str, port) || port > 65535) {
          return err("bad m= line", line_no);
        }
        MediaSection& ms = sd.media.emplace_back();
        ms.kind = p[0];
        ms.port = static_cast<std::uint16_t>(port);
        ms.protocol = p[2];
        bool rtp = ms.protocol.find("RTP/") != std::string::npos;
        for (std::size_t i = 3; i < p.size(); ++i) {
          ms.formats.emplace_back(p[i]);
          if (rtp) {
            Codec c;
            if (!parse_pt(p[i], c.payload_type)) return err("bad payload type", line_no);
            if (codec_for(ms, c.payload_type)) return err("duplicate payload type", line_no);
            ms.codecs.push_back(std::move(c));
          }
        }
        m = &ms;
        break;
      }
      case 'a': {
        auto colon = value.find(':');
        bool has_value = colon != std::string_view::npos;
        std::string_view name = value.substr(0, colon);
        std::string_view v = has_value ? trim(value.substr(colon + 1)) : std::string_view{};
        if (m) {
          auto e = parse_media_attribute(*m, name, v, has_value);
          if (!e.empty()) return err(e, line_no);
          break;
        }
        if (name == "group") {
          auto parts = split_ws(v);
          if (parts.empty()) return err("bad group", line_no);
          Group g{std::string(parts[0]), {}};
          for (std::size_t i = 1; i < parts.size(); ++i) g.mids.emplace_back(parts[i]);
          sd.groups.push_back(std::move(g));
        } else if (name == "ice-lite") {
          sd.ice_lite = true;
        } else if (name == "ice-ufrag") {
          sd.ice_ufrag = v;
        } else if (name == "ice-pwd") {
          sd.ice_pwd = v;
        } else if (name == "ice-options") {
          for (auto o : split_ws(v)) sd.ice_options.emplace_back(o);
        } else if (name == "fingerprint") {
          if (split_ws(v).size() != 2) return err("bad fingerprint", line_no);
          sd.fingerprint = v;
        } else if (name == "setup") {
          auto s = parse_setup(v);
          if (!s) return err("bad setup", line_no);
          sd.setup = *s;
        } else if (name == "msid-semantic") {
          sd.msid_semantic = v;
        } else if (name == "extmap-allow-mixed") {
          sd.extmap_allow_mixed = true;
        } else {
          sd.other_attributes.push_back(has_value ? std::string(name) + ":" + std::string(v)
                                                  : std::string(name));
        }
        break;
      }
      default:
        break;  // b=, i=, u=, e=, p=, z=, k=, r=: not used by WebRTC, ignored
    }
  }
  if (!seen_v) return err("empty description", line_no);
  if (!seen_o) return err("missing o= line", line_no);
  for (auto& ms : sd.media) {
    for (auto& c : ms.codecs) fill_static(c);
    if (ms.ice_ufrag.empty()) ms.ice_ufrag = sd.ice_ufrag;
    if (ms.ice_pwd.empty()) ms.ice_pwd = sd.ice_pwd;
    if (ms.ice_options.empty()) ms.ice_options = sd.ice_options;
    if (ms.fingerprint.empty()) ms.fingerprint = sd.fingerprint;
    if (ms.setup == Setup::kNone) ms.setup = sd.setup;
    if (sd.extmap_allow_mixed) ms.extmap_allow_mixed = true;
  }
  return sd;
}

}  // namespace hype::rtc::sdp
