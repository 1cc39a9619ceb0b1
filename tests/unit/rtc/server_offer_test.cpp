// The SFU's offers to a subscriber, built on the answers to captured Chromium offers
// (tests/fixtures/sdp): audio as the SFU has always offered it, video sections with the
// subscriber's own video codecs and RTX, never a codec the subscriber did not accept.
#include "rtc/sdp/server_offer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

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

// The subscriber's session as the SFU answered it.
SessionDescription answered(const std::string& fixture_name) {
  auto offer = parse(fixture(fixture_name));
  EXPECT_TRUE(offer.ok());
  AnswerOptions o;
  o.ice_ufrag = "hypeufrag";
  o.ice_pwd = "0123456789abcdefghijklmnop";
  o.fingerprint = "sha-256 " + std::string(95, 'A');
  o.session_id = 42;
  auto c = Candidate::parse("1 1 udp 2130706431 127.0.0.1 40000 typ host");
  o.candidates.push_back(c.value());
  auto a = create_answer(offer.value(), o);
  EXPECT_TRUE(a.ok());
  return a.value();
}

OutgoingStream slot(int i, std::uint32_t ssrc, bool active = true) {
  OutgoingStream s;
  s.mid = "a" + std::to_string(i);
  s.kind = "audio";
  s.direction = active ? Direction::kSendOnly : Direction::kInactive;
  s.ssrc = ssrc;
  s.msid_stream = "slot" + std::to_string(i);
  s.msid_track = s.msid_stream + "-audio";
  s.cname = "hype-sfu";
  return s;
}

OutgoingStream video(std::string mid, std::uint32_t ssrc, std::uint32_t rtx,
                     std::vector<std::string> codecs) {
  OutgoingStream s;
  s.mid = std::move(mid);
  s.kind = "video";
  s.ssrc = ssrc;
  s.rtx_ssrc = rtx;
  s.msid_stream = "u9";
  s.msid_track = "u9-video";
  s.cname = "hype-9";
  s.codecs = std::move(codecs);
  return s;
}

// What SfuService built before the builder existed (it cloned the last answered audio
// section for every server section): kept here as the oracle for audio.
SessionDescription legacy_offer(const SessionDescription& own,
                                const std::vector<OutgoingStream>& streams, int version) {
  const MediaSection* tmpl = nullptr;
  for (auto& m : own.media)
    if (m.kind == "audio" && !m.rejected()) tmpl = &m;
  SessionDescription sd = own;
  sd.session_version += static_cast<std::uint64_t>(version);
  for (auto& s : streams) {
    MediaSection m = *tmpl;
    m.mid = s.mid;
    m.ssrcs.clear();
    m.msids.clear();
    m.ssrc_groups.clear();
    m.rids.clear();
    m.simulcast.reset();
    bool active = s.direction == Direction::kSendOnly;
    m.direction = active ? Direction::kSendOnly : Direction::kInactive;
    if (active) {
      m.msids.push_back(s.msid_stream + " " + s.msid_stream + "-audio");
      m.ssrcs.push_back({s.ssrc, "cname", s.cname});
      m.ssrcs.push_back({s.ssrc, "msid", s.msid_stream + " " + s.msid_stream + "-audio"});
    }
    sd.media.push_back(std::move(m));
  }
  for (auto& m : sd.media) m.setup = Setup::kActpass;
  sd.groups.clear();
  Group bundle{"BUNDLE", {}};
  for (auto& m : sd.media)
    if (!m.rejected()) bundle.mids.push_back(m.mid);
  sd.groups.push_back(std::move(bundle));
  return sd;
}

std::set<std::string> codec_names(const MediaSection& m) {
  std::set<std::string> out;
  for (auto& c : m.codecs) out.insert(c.name);
  return out;
}

}  // namespace

TEST(ServerOffer, AudioSlotsAreTheOffersSfuServiceAlwaysSent) {
  for (const char* f : {"chromium_audio_offer.sdp", "chromium_recvonly_offer.sdp",
                        "chromium_av_simulcast_offer.sdp"}) {
    SessionDescription own = answered(f);
    std::vector<OutgoingStream> streams = {slot(0, 1001), slot(1, 1002), slot(2, 1003, false)};
    OutgoingStream pub = slot(3, 1004);
    pub.mid = "s3";
    pub.msid_stream = "u77";
    pub.msid_track = "u77-audio";
    pub.cname = "hype-77";
    streams.push_back(pub);
    auto sd = build_server_offer(own, streams, own.session_version + 3);
    ASSERT_TRUE(sd.ok()) << f << ": " << sd.error().message;
    EXPECT_EQ(write(sd.value()), write(legacy_offer(own, streams, 3))) << f;
  }
}

TEST(ServerOffer, OffersNothingButTheSubscribersAudioCodecs) {
  SessionDescription own = answered("chromium_audio_offer.sdp");
  auto sd = build_server_offer(own, {slot(0, 5)}, 3);
  ASSERT_TRUE(sd.ok());
  const auto& m = sd->media.back();
  EXPECT_EQ(codec_names(m), codec_names(own.media[0]));
  // RED over Opus (answered first, the SFU forwards it), no G722, PCMU...
  EXPECT_EQ(codec_names(m), (std::set<std::string>{"red", "opus"}));
  EXPECT_TRUE(m.codecs.front().is("red"));
  EXPECT_EQ(m.extmaps.size(), own.media[0].extmaps.size());
  for (auto& e : m.extmaps) EXPECT_EQ(own.media[0].find_extmap(e.uri)->id, e.id);
  // It parses back as what the browser gets.
  auto back = parse(write(sd.value()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->media.size(), 2u);
  EXPECT_EQ(back->media[1].mid, "a0");
  EXPECT_EQ(back->media[1].direction, Direction::kSendOnly);
  EXPECT_EQ(back->media[1].setup, Setup::kActpass);
  EXPECT_EQ(back->media[0].setup, Setup::kActpass);
  ASSERT_NE(back->bundle_group(), nullptr);
  EXPECT_EQ(back->bundle_group()->mids, (std::vector<std::string>{"0", "a0"}));
  EXPECT_EQ(back->session_version, 3u);
}

TEST(ServerOffer, VideoGetsItsOwnSectionWithTheSubscribersVideoCodecsAndRtx) {
  SessionDescription own = answered("chromium_av_simulcast_offer.sdp");
  const MediaSection& own_video = own.media[1];
  ASSERT_EQ(own_video.kind, "video");
  auto sd = build_server_offer(own, {slot(0, 1), video("s1", 2000, 2001, {})}, 3);
  ASSERT_TRUE(sd.ok()) << sd.error().message;
  auto back = parse(write(sd.value()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const MediaSection& a = back->media[2];
  const MediaSection& v = back->media[3];
  EXPECT_EQ(a.kind, "audio");
  EXPECT_EQ(codec_names(a), (std::set<std::string>{"red", "opus"}));
  EXPECT_EQ(v.kind, "video");
  EXPECT_EQ(v.mid, "s1");
  EXPECT_EQ(v.direction, Direction::kSendOnly);
  // Exactly what the subscriber accepted for video, with its payload types and feedback.
  ASSERT_EQ(v.codecs.size(), own_video.codecs.size());
  for (std::size_t i = 0; i < v.codecs.size(); ++i) {
    EXPECT_EQ(v.codecs[i].payload_type, own_video.codecs[i].payload_type);
    EXPECT_EQ(v.codecs[i].name, own_video.codecs[i].name);
    EXPECT_EQ(v.codecs[i].rtcp_fb, own_video.codecs[i].rtcp_fb);
  }
  EXPECT_FALSE(v.simulcast.has_value());  // the subscriber's own simulcast is not ours
  EXPECT_TRUE(v.rids.empty());
  ASSERT_EQ(v.ssrc_groups.size(), 1u);
  EXPECT_EQ(v.ssrc_groups[0].semantics, "FID");
  EXPECT_EQ(v.ssrc_groups[0].ssrcs, (std::vector<std::uint32_t>{2000, 2001}));
  EXPECT_EQ(v.msids, (std::vector<std::string>{"u9 u9-video"}));
  std::set<std::uint32_t> ssrcs;
  for (auto& s : v.ssrcs) ssrcs.insert(s.ssrc);
  EXPECT_EQ(ssrcs, (std::set<std::uint32_t>{2000, 2001}));
  EXPECT_EQ(v.cname(), "hype-9");
  EXPECT_EQ(back->bundle_group()->mids.size(), 4u);
}

TEST(ServerOffer, AStreamNarrowsTheCodecsToItsOwn) {
  SessionDescription own = answered("chromium_av_simulcast_offer.sdp");
  auto sd = build_server_offer(own, {video("s0", 2000, 2001, {"vp8"})}, 3);
  ASSERT_TRUE(sd.ok()) << sd.error().message;
  const MediaSection& v = sd->media.back();
  ASSERT_EQ(v.codecs.size(), 2u);  // VP8 and its RTX, nothing else
  EXPECT_EQ(v.codecs[0].name, "VP8");
  EXPECT_EQ(v.codecs[1].name, "rtx");
  EXPECT_EQ(v.codecs[1].rtx_apt(), v.codecs[0].payload_type);
  EXPECT_EQ(v.formats, (std::vector<std::string>{std::to_string(v.codecs[0].payload_type),
                                                 std::to_string(v.codecs[1].payload_type)}));
}

TEST(ServerOffer, NeverOffersACodecTheSubscriberDidNotAccept) {
  SessionDescription own = answered("chromium_av_simulcast_offer.sdp");
  // ulpfec was offered by the browser but not accepted by the SFU's answer.
  auto fec = build_server_offer(own, {video("s0", 2000, 0, {"ulpfec"})}, 3);
  EXPECT_FALSE(fec.ok());
  // An audio-only subscriber has no video codecs at all.
  SessionDescription audio_only = answered("chromium_audio_offer.sdp");
  auto none = build_server_offer(audio_only, {video("s0", 2000, 0, {})}, 3);
  EXPECT_FALSE(none.ok());
  // Nor is a video stream ever offered in an audio section, or audio codecs narrowed away.
  auto pcmu = slot(0, 1);
  pcmu.codecs = {"PCMU"};
  EXPECT_FALSE(build_server_offer(audio_only, {pcmu}, 3).ok());
}

TEST(ServerOffer, RtxNeedsAnRtxCodecTheSubscriberAccepted) {
  SessionDescription own = answered("chromium_av_simulcast_offer.sdp");
  MediaSection& v = own.media[1];
  std::erase_if(v.codecs, [](const Codec& c) { return c.rtx_apt().has_value(); });
  EXPECT_FALSE(build_server_offer(own, {video("s0", 2000, 2001, {})}, 3).ok());
  auto no_rtx = build_server_offer(own, {video("s0", 2000, 0, {})}, 3);
  ASSERT_TRUE(no_rtx.ok());
  EXPECT_TRUE(no_rtx->media.back().ssrc_groups.empty());
}

TEST(ServerOffer, InactiveSectionsKeepTheirPlaceWithoutSsrcs) {
  SessionDescription own = answered("chromium_av_simulcast_offer.sdp");
  auto gone = video("s0", 2000, 2001, {});
  gone.direction = Direction::kInactive;
  auto sd = build_server_offer(own, {gone, slot(0, 1)}, 3);
  ASSERT_TRUE(sd.ok());
  const MediaSection& v = sd->media[2];
  EXPECT_EQ(v.mid, "s0");
  EXPECT_EQ(v.direction, Direction::kInactive);
  EXPECT_TRUE(v.ssrcs.empty());
  EXPECT_TRUE(v.msids.empty());
  EXPECT_TRUE(v.ssrc_groups.empty());
  EXPECT_EQ(sd->media[3].mid, "a0");
}
