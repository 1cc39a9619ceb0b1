// SDP parse/write/answer against offers captured from headless Chromium 156
// (tests/fixtures/sdp) and hand-written malformed inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "rtc/rtp/header_extensions.hpp"
#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/sdp_answer.hpp"

using namespace hype::rtc;
using namespace hype::rtc::sdp;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream f(std::string(HYPE_SOURCE_DIR) + "/tests/fixtures/sdp/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

SessionDescription parse_ok(const std::string& text) {
  auto r = parse(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : SessionDescription{};
}

AnswerOptions sfu_options() {
  AnswerOptions o;
  o.ice_ufrag = "hypeufrag";
  o.ice_pwd = "0123456789abcdefghijklmnop";
  o.fingerprint =
      "sha-256 "
      "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:"
      "88:99";
  o.session_id = 42;
  auto c = Candidate::parse("1 1 udp 2130706431 127.0.0.1 40000 typ host");
  EXPECT_TRUE(c.ok());
  o.candidates.push_back(c.value());
  return o;
}

// Structural checks every answer we send to a browser must pass.
void expect_well_formed_answer(const SessionDescription& offer, const std::string& text) {
  auto r = parse(text);
  ASSERT_TRUE(r.ok()) << r.error().message << "\n" << text;
  const auto& a = r.value();
  EXPECT_NE(text.find("\r\n"), std::string::npos);
  EXPECT_EQ(text.rfind("v=0\r\n", 0), 0u);
  EXPECT_TRUE(a.ice_lite);
  ASSERT_EQ(a.media.size(), offer.media.size());  // JSEP: same m-sections, same order
  const Group* bundle = a.bundle_group();
  ASSERT_NE(bundle, nullptr);
  for (std::size_t i = 0; i < a.media.size(); ++i) {
    const auto& am = a.media[i];
    const auto& om = offer.media[i];
    EXPECT_EQ(am.mid, om.mid);
    EXPECT_EQ(am.kind, om.kind);
    if (am.rejected()) continue;
    EXPECT_NE(std::find(bundle->mids.begin(), bundle->mids.end(), am.mid), bundle->mids.end());
    EXPECT_TRUE(am.rtcp_mux);
    EXPECT_EQ(am.setup, Setup::kPassive);
    EXPECT_EQ(am.ice_ufrag, "hypeufrag");
    EXPECT_FALSE(am.fingerprint.empty());
    EXPECT_FALSE(am.candidates.empty());
    ASSERT_FALSE(am.codecs.empty());
    EXPECT_EQ(am.formats.size(), am.codecs.size());
    for (const auto& c : am.codecs) {
      // Payload types and names must be the offer's.
      const Codec* oc = om.find_codec(c.payload_type);
      ASSERT_NE(oc, nullptr);
      EXPECT_EQ(oc->name, c.name);
      if (auto apt = c.rtx_apt()) {
        EXPECT_NE(am.find_codec(*apt), nullptr);
      }
    }
    for (const auto& e : am.extmaps) {
      const Extmap* oe = om.find_extmap(e.uri);
      ASSERT_NE(oe, nullptr);
      EXPECT_EQ(oe->id, e.id);
    }
  }
}

}  // namespace

TEST(Sdp, ParsesChromiumAudioOffer) {
  auto sd = parse_ok(fixture("chromium_audio_offer.sdp"));
  ASSERT_EQ(sd.media.size(), 1u);
  const auto& m = sd.media[0];
  EXPECT_EQ(m.kind, "audio");
  EXPECT_EQ(m.mid, "0");
  EXPECT_EQ(m.direction, Direction::kSendRecv);
  EXPECT_TRUE(m.rtcp_mux);
  EXPECT_TRUE(m.rtcp_rsize);
  EXPECT_EQ(m.setup, Setup::kActpass);
  EXPECT_EQ(m.fingerprint.rfind("sha-256 ", 0), 0u);
  EXPECT_GE(m.ice_ufrag.size(), 4u);
  EXPECT_GE(m.ice_pwd.size(), 22u);
  ASSERT_NE(sd.bundle_group(), nullptr);
  EXPECT_EQ(sd.bundle_group()->mids, std::vector<std::string>{"0"});
  const Codec* opus = m.find_codec(111);
  ASSERT_NE(opus, nullptr);
  EXPECT_TRUE(opus->is("opus"));
  EXPECT_EQ(opus->clock_rate, 48000u);
  EXPECT_EQ(opus->channels, 2);
  EXPECT_EQ(opus->fmtp_param("useinbandfec"), "1");
  EXPECT_NE(std::find(opus->rtcp_fb.begin(), opus->rtcp_fb.end(), "transport-cc"),
            opus->rtcp_fb.end());
  ExtensionIds ids;
  for (const auto& e : m.extmaps) ids.assign(e.uri, static_cast<std::uint8_t>(e.id));
  EXPECT_NE(ids.audio_level, 0);
  EXPECT_NE(ids.transport_cc, 0);
  EXPECT_NE(ids.mid, 0);
  EXPECT_FALSE(m.candidates.empty());
  bool has_udp_host = false;
  for (const auto& c : m.candidates) has_udp_host |= c.transport == "udp" && c.type == "host";
  EXPECT_TRUE(has_udp_host);
  EXPECT_FALSE(m.cname().empty());
  EXPECT_EQ(m.msids.size(), 1u);
  EXPECT_TRUE(sd.extmap_allow_mixed);
}

TEST(Sdp, ParsesChromiumSimulcastOffer) {
  auto sd = parse_ok(fixture("chromium_av_simulcast_offer.sdp"));
  ASSERT_EQ(sd.media.size(), 2u);
  const auto& v = sd.media[1];
  EXPECT_EQ(v.kind, "video");
  ASSERT_EQ(v.rids.size(), 3u);
  EXPECT_EQ(v.rids[0].id, "q");
  EXPECT_EQ(v.rids[0].direction, "send");
  ASSERT_TRUE(v.simulcast.has_value());
  ASSERT_EQ(v.simulcast->send.size(), 3u);
  EXPECT_EQ(v.simulcast->send[2][0], "f");
  const Codec* vp8 = nullptr;
  for (const auto& c : v.codecs) {
    if (c.is("VP8")) vp8 = &c;
  }
  ASSERT_NE(vp8, nullptr);
  bool rtx_for_vp8 = false;
  for (const auto& c : v.codecs) rtx_for_vp8 |= c.rtx_apt() == vp8->payload_type;
  EXPECT_TRUE(rtx_for_vp8);
  EXPECT_NE(v.find_extmap(ext_uri::kRid), nullptr);
}

TEST(Sdp, WriteParseRoundTripKeepsEverything) {
  for (const char* name : {"chromium_audio_offer.sdp", "chromium_av_simulcast_offer.sdp",
                           "chromium_recvonly_offer.sdp"}) {
    auto a = parse_ok(fixture(name));
    std::string text = write(a);
    auto b = parse_ok(text);
    EXPECT_EQ(write(b), text) << name;
    ASSERT_EQ(a.media.size(), b.media.size());
    for (std::size_t i = 0; i < a.media.size(); ++i) {
      EXPECT_EQ(a.media[i].codecs.size(), b.media[i].codecs.size());
      EXPECT_EQ(a.media[i].candidates.size(), b.media[i].candidates.size());
      EXPECT_EQ(a.media[i].other_attributes, b.media[i].other_attributes);
    }
    // Every attribute line of the original survives (order may differ).
    std::istringstream in(fixture(name));
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("a=", 0) == 0) {
        EXPECT_NE(text.find(line + "\r\n"), std::string::npos) << name << ": " << line;
      }
    }
  }
}

TEST(Sdp, AnswerToAudioOffer) {
  auto offer = parse_ok(fixture("chromium_audio_offer.sdp"));
  auto ans = create_answer(offer, sfu_options());
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  std::string text = write(ans.value());
  expect_well_formed_answer(offer, text);
  const auto& m = ans.value().media[0];
  // RED over Opus first (Chromium then sends RED), then Opus with DTX and in-band FEC.
  ASSERT_EQ(m.codecs.size(), 2u);
  EXPECT_TRUE(m.codecs[0].is("red"));
  EXPECT_EQ(m.codecs[0].payload_type, 63);
  EXPECT_EQ(m.codecs[0].fmtp, "111/111");
  EXPECT_TRUE(m.codecs[1].is("opus"));
  EXPECT_EQ(m.codecs[1].fmtp_param("usedtx"), "1");
  EXPECT_EQ(m.codecs[1].fmtp_param("useinbandfec"), "1");
  EXPECT_EQ(m.direction, Direction::kRecvOnly);
  EXPECT_NE(text.find("m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\n"), std::string::npos);
  EXPECT_NE(text.find("a=ice-lite\r\n"), std::string::npos);
  EXPECT_NE(text.find("a=group:BUNDLE 0\r\n"), std::string::npos);
  EXPECT_NE(text.find("a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n"),
            std::string::npos);
}

TEST(Sdp, RedIsLeftOutWhenNotWantedOrNotOverTheChosenOpus) {
  auto offer = parse_ok(fixture("chromium_audio_offer.sdp"));
  auto opt = sfu_options();
  opt.audio_red = false;
  auto ans = create_answer(offer, opt);
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  ASSERT_EQ(ans.value().media[0].codecs.size(), 1u);
  EXPECT_TRUE(ans.value().media[0].codecs[0].is("opus"));
  // RED whose blocks are another codec (G722 here) is not one the SFU can unwrap.
  for (auto& c : offer.media[0].codecs)
    if (c.is("red")) c.fmtp = "9/9";
  ans = create_answer(offer, sfu_options());
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  ASSERT_EQ(ans.value().media[0].codecs.size(), 1u);
  EXPECT_TRUE(ans.value().media[0].codecs[0].is("opus"));
}

TEST(Sdp, AudioPtimeIsAskedForOnAudioOnlyAndNeverBelowTheOffersMinptime) {
  auto offer = parse_ok(fixture("chromium_audio_offer.sdp"));
  auto has_ptime = [](const MediaSection& m, const std::string& v) {
    return std::find(m.other_attributes.begin(), m.other_attributes.end(), "ptime:" + v) !=
           m.other_attributes.end();
  };
  auto count_ptime = [](const MediaSection& m) {
    return std::count_if(m.other_attributes.begin(), m.other_attributes.end(),
                         [](const std::string& a) { return a.rfind("ptime:", 0) == 0; });
  };
  // Not asked for: nothing said (browsers then send 20 ms).
  auto ans = create_answer(offer, sfu_options());
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  EXPECT_EQ(count_ptime(ans.value().media[0]), 0);
  auto opt = sfu_options();
  opt.audio_ptime_ms = 10;
  ans = create_answer(offer, opt);
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  EXPECT_TRUE(has_ptime(ans.value().media[0], "10"));
  EXPECT_EQ(count_ptime(ans.value().media[0]), 1);
  EXPECT_NE(write(ans.value()).find("a=ptime:10\r\n"), std::string::npos);
  // A client that cannot go below 20 ms is not asked to.
  for (auto& c : offer.media[0].codecs)
    if (c.is("opus")) c.fmtp = "minptime=20;useinbandfec=1";
  ans = create_answer(offer, opt);
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  EXPECT_TRUE(has_ptime(ans.value().media[0], "20"));
  // Video sections get none.
  auto video = parse_ok(fixture("chromium_av_simulcast_offer.sdp"));
  ans = create_answer(video, opt);
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  int videos = 0;
  for (const auto& m : ans.value().media) {
    if (m.kind == "video") {
      ++videos;
      EXPECT_EQ(count_ptime(m), 0);
    } else if (m.kind == "audio" && !m.rejected()) {
      EXPECT_EQ(count_ptime(m), 1);
    }
  }
  EXPECT_GT(videos, 0);
}

TEST(Sdp, AudioNackIsKeptWhereOfferedUnlessTurnedOff) {
  auto offer = parse_ok(fixture("chromium_audio_offer.sdp"));
  for (auto& c : offer.media[0].codecs)
    if (c.is("opus")) c.rtcp_fb.push_back("nack");
  auto opus_fb = [](const SessionDescription& sd) {
    for (const auto& c : sd.media[0].codecs)
      if (c.is("opus")) return c.rtcp_fb;
    return std::vector<std::string>{};
  };
  auto ans = create_answer(offer, sfu_options());
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  EXPECT_EQ(opus_fb(ans.value()), (std::vector<std::string>{"transport-cc", "nack"}));
  auto opt = sfu_options();
  opt.audio_nack = false;
  ans = create_answer(offer, opt);
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  EXPECT_EQ(opus_fb(ans.value()), (std::vector<std::string>{"transport-cc"}));
}

TEST(Sdp, IsRedOver) {
  Codec opus{111, "opus", 48000, 2, "", {}};
  EXPECT_TRUE(is_red_over(Codec{63, "red", 48000, 2, "111/111", {}}, opus));
  EXPECT_TRUE(is_red_over(Codec{63, "RED", 48000, 2, "111", {}}, opus));
  EXPECT_TRUE(is_red_over(Codec{63, "red", 48000, 2, "111/111/111", {}}, opus));
  EXPECT_FALSE(is_red_over(Codec{63, "red", 48000, 2, "", {}}, opus));
  EXPECT_FALSE(is_red_over(Codec{63, "red", 48000, 2, "111/9", {}}, opus));
  EXPECT_FALSE(is_red_over(Codec{63, "red", 48000, 2, "111/", {}}, opus));
  EXPECT_FALSE(is_red_over(Codec{63, "red", 8000, 1, "111/111", {}}, opus));
  EXPECT_FALSE(
      is_red_over(Codec{63, "red", 48000, 2, "111/111/111/111/111/111/111/111/111", {}}, opus));
  EXPECT_FALSE(is_red_over(Codec{111, "opus", 48000, 2, "111/111", {}}, opus));
}

TEST(Sdp, AnswerToSimulcastOffer) {
  auto offer = parse_ok(fixture("chromium_av_simulcast_offer.sdp"));
  auto ans = create_answer(offer, sfu_options());
  ASSERT_TRUE(ans.ok()) << ans.error().message;
  std::string text = write(ans.value());
  expect_well_formed_answer(offer, text);
  const auto& v = ans.value().media[1];
  ASSERT_TRUE(v.simulcast.has_value());
  EXPECT_TRUE(v.simulcast->send.empty());
  ASSERT_EQ(v.simulcast->recv.size(), 3u);
  ASSERT_EQ(v.rids.size(), 3u);
  EXPECT_EQ(v.rids[1].direction, "recv");
  EXPECT_NE(text.find("a=simulcast:recv q;h;f\r\n"), std::string::npos);
  for (const auto& c : v.codecs) {
    EXPECT_TRUE(c.is("VP8") || c.is("VP9") || c.is("H264") || c.is("AV1") || c.is("rtx")) << c.name;
    if (c.is("H264")) {
      EXPECT_EQ(c.fmtp_param("packetization-mode"), "1");
    }
  }
  EXPECT_NE(v.find_extmap(ext_uri::kRid), nullptr);
  EXPECT_EQ(v.find_extmap("urn:3gpp:video-orientation"), nullptr);
  EXPECT_NE(text.find("a=group:BUNDLE 0 1\r\n"), std::string::npos);
}

TEST(Sdp, AnswerToRecvOnlyOfferSends) {
  auto offer = parse_ok(fixture("chromium_recvonly_offer.sdp"));
  auto ans = create_answer(offer, sfu_options());
  ASSERT_TRUE(ans.ok());
  expect_well_formed_answer(offer, write(ans.value()));
  for (const auto& m : ans.value().media) EXPECT_EQ(m.direction, Direction::kSendOnly);
}

TEST(Sdp, AnswerRejectsDataChannelSection) {
  std::string offer_text = fixture("chromium_audio_offer.sdp");
  offer_text +=
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
      "a=mid:9\r\na=sctp-port:5000\r\n";
  auto offer = parse_ok(offer_text);
  auto ans = create_answer(offer, sfu_options());
  ASSERT_TRUE(ans.ok());
  const auto& dc = ans.value().media[1];
  EXPECT_TRUE(dc.rejected());
  EXPECT_EQ(dc.mid, "9");
  const auto& bundle = *ans.value().bundle_group();
  EXPECT_EQ(bundle.mids, std::vector<std::string>{"0"});
  expect_well_formed_answer(offer, write(ans.value()));
}

TEST(Sdp, AnswerNeedsCredentials) {
  auto offer = parse_ok(fixture("chromium_audio_offer.sdp"));
  AnswerOptions o = sfu_options();
  o.ice_pwd = "short";
  EXPECT_FALSE(create_answer(offer, o).ok());
}

TEST(Sdp, CandidateParseAndFormat) {
  auto c = Candidate::parse(
      "842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 rport 50000 "
      "generation 0 network-cost 999");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, "srflx");
  EXPECT_EQ(c->related_port, 50000);
  EXPECT_EQ(c->extensions.size(), 2u);
  EXPECT_EQ(c->to_string(),
            "842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 rport 50000 "
            "generation 0 network-cost 999");
  EXPECT_FALSE(Candidate::parse("1 1 udp 1 1.2.3.4 99999 typ host").ok());
  EXPECT_FALSE(Candidate::parse("1 1 udp 1 1.2.3.4 5 host").ok());
  EXPECT_FALSE(Candidate::parse("1 1 udp 1 1.2.3.4 5 typ host generation").ok());
}

TEST(Sdp, RejectsMalformed) {
  const char* bad[] = {
      "",
      "v=1\r\n",
      "o=- 1 2 IN IP4 127.0.0.1\r\nv=0\r\n",
      "v=0\r\ns=-\r\n",  // no o=
      "v=0\r\no=- x 2 IN IP4 127.0.0.1\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 70000 UDP/TLS/RTP/SAVPF 111\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 300\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:0 x\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:maybe\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rid:h sideways\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=simulcast:send\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ssrc:abc cname:x\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=candidate:x\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nX=bad\r\n",
      // Found by fuzzing: duplicate payload types and whitespace in a mid broke round trips.
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 9 0 9\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a b\r\n",
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nnot a line\r\n",
  };
  for (const char* text : bad) EXPECT_FALSE(parse(text).ok()) << text;
}

TEST(Sdp, SessionLevelTransportAttributesPropagate) {
  auto sd = parse_ok(
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\n"
      "a=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA:BB\r\na=setup:active\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=rtcp-mux\r\n");
  ASSERT_EQ(sd.media.size(), 1u);
  EXPECT_EQ(sd.media[0].ice_ufrag, "abcd");
  EXPECT_EQ(sd.media[0].setup, Setup::kActive);
  EXPECT_EQ(sd.media[0].codecs[0].name, "PCMU");  // static payload type without rtpmap
}
