// SDP (RFC 8866) as browsers speak it under JSEP (RFC 8829): Unified Plan, one m-section per
// transceiver, BUNDLE over one ICE/DTLS transport, rtcp-mux. This is a typed model of the
// attributes an SFU acts on; everything else is kept verbatim in `other_attributes` so a
// parse/write round trip loses nothing that matters. Signaling is the control path, so the
// model uses strings and vectors freely; parse() returns an error for malformed input and
// never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace hype::rtc::sdp {

enum class Direction : std::uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };
enum class Setup : std::uint8_t { kNone, kActpass, kActive, kPassive, kHoldconn };

const char* to_string(Direction d);
const char* to_string(Setup s);
Direction reverse(Direction d);  // what an answerer mirrors: sendonly <-> recvonly

struct Codec {
  std::uint8_t payload_type = 0;
  std::string name;  // as in rtpmap: "opus", "VP8", "H264", "rtx", "red", ...
  std::uint32_t clock_rate = 0;
  std::uint16_t channels = 0;        // 0 when absent (video)
  std::string fmtp;                  // raw parameter string, e.g. "minptime=10;useinbandfec=1"
  std::vector<std::string> rtcp_fb;  // "nack", "nack pli", "transport-cc", ...

  std::optional<std::string> fmtp_param(std::string_view key) const;
  std::optional<std::uint8_t> rtx_apt() const;  // for rtx: the associated payload type
  bool is(std::string_view codec_name) const;   // case-insensitive name compare
};

struct Extmap {
  std::uint16_t id = 0;
  std::string direction;  // optional "/sendonly" etc., without the slash
  std::string uri;
  std::string extension_attributes;
};

struct Candidate {
  std::string foundation;
  std::uint32_t component = 1;
  std::string transport = "udp";
  std::uint32_t priority = 0;
  std::string address;
  std::uint16_t port = 0;
  std::string type = "host";  // host, srflx, prflx, relay
  std::string related_address;
  std::uint16_t related_port = 0;
  std::string tcp_type;
  std::vector<std::pair<std::string, std::string>> extensions;  // generation, ufrag, ...

  // Parses the value after "candidate:" (RFC 8839 5.1).
  static Result<Candidate> parse(std::string_view value);
  std::string to_string() const;  // without the "candidate:" prefix
};

struct SsrcAttribute {
  std::uint32_t ssrc = 0;
  std::string name;   // "cname", "msid", ...
  std::string value;  // may be empty
};

struct SsrcGroup {
  std::string semantics;  // "FID" (RTX), "SIM", "FEC-FR"
  std::vector<std::uint32_t> ssrcs;
};

struct Rid {
  std::string id;
  std::string direction;  // "send" or "recv"
  std::string params;     // e.g. "pt=96;max-width=1280", may be empty
};

// a=simulcast (RFC 8853): each stream is a list of alternatives; a leading '~' (paused) is
// kept in the rid string.
struct Simulcast {
  std::vector<std::vector<std::string>> send;
  std::vector<std::vector<std::string>> recv;
};

struct MediaSection {
  std::string kind;  // "audio", "video", "application"
  std::uint16_t port = 9;
  std::string protocol = "UDP/TLS/RTP/SAVPF";
  std::vector<std::string> formats;  // payload types (or "webrtc-datachannel")
  std::string connection = "IN IP4 0.0.0.0";
  std::string mid;
  Direction direction = Direction::kSendRecv;
  bool rtcp_mux = false;
  bool rtcp_rsize = false;
  std::string rtcp;  // a=rtcp value if present
  std::string ice_ufrag;
  std::string ice_pwd;
  std::vector<std::string> ice_options;
  std::string fingerprint;  // "sha-256 AB:CD:..."
  Setup setup = Setup::kNone;
  std::vector<Candidate> candidates;
  bool end_of_candidates = false;
  std::vector<Codec> codecs;  // in m-line order
  std::vector<Extmap> extmaps;
  bool extmap_allow_mixed = false;
  std::vector<std::string> msids;  // a=msid values "stream track"
  std::vector<SsrcAttribute> ssrcs;
  std::vector<SsrcGroup> ssrc_groups;
  std::vector<Rid> rids;
  std::optional<Simulcast> simulcast;
  std::vector<std::string> other_attributes;  // "name:value" or "name", verbatim

  bool rejected() const { return port == 0; }
  const Codec* find_codec(std::uint8_t pt) const;
  const Extmap* find_extmap(std::string_view uri) const;
  // a=ptime (RFC 8866 6.4, kept in other_attributes): its value, if there is one and it is a
  // number; set_ptime replaces it.
  std::optional<unsigned> ptime() const;
  void set_ptime(unsigned ms);
  // First a=ssrc <cname> value, empty if none.
  std::string cname() const;
};

struct Group {
  std::string semantics;  // "BUNDLE", "LS"
  std::vector<std::string> mids;
};

struct SessionDescription {
  std::string origin_username = "-";
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 2;
  std::string origin_address = "IN IP4 127.0.0.1";
  std::string session_name = "-";
  std::string timing = "0 0";
  std::vector<Group> groups;
  bool ice_lite = false;
  // Session-level transport attributes; parse() also copies them into media sections that
  // lack their own, so consumers can read them from the m-section.
  std::string ice_ufrag;
  std::string ice_pwd;
  std::vector<std::string> ice_options;
  std::string fingerprint;
  Setup setup = Setup::kNone;
  std::string msid_semantic;  // e.g. "WMS" or "WMS *"
  bool extmap_allow_mixed = false;
  std::vector<MediaSection> media;
  std::vector<std::string> other_attributes;

  const Group* bundle_group() const;
  const MediaSection* find_media(std::string_view mid) const;
};

Result<SessionDescription> parse(std::string_view text);
std::string write(const SessionDescription& sd);

}  // namespace hype::rtc::sdp
