// Offer validation before anything is published: real Chromium offers pass; each missing or
// illegal transport attribute is refused with invalid_sdp and a message naming it.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/sdp_validate.hpp"

using namespace hype::rtc::sdp;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream f(std::string(HYPE_SOURCE_DIR) + "/tests/fixtures/sdp/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

SessionDescription chromium_audio() {
  auto r = parse(fixture("chromium_audio_offer.sdp"));
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : SessionDescription{};
}

// The offer after `edit`, validated; returns the error message ("" when valid).
std::string problem(const std::function<void(SessionDescription&)>& edit) {
  SessionDescription sd = chromium_audio();
  edit(sd);
  // Through the text form, as the SFU receives it (session-level attributes propagate).
  auto again = parse(write(sd));
  if (!again.ok()) return "unparseable: " + again.error().message;
  auto r = validate_offer(again.value(), AnswerOptions{});
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, "invalid_sdp");
  return r.error().message;
}

bool mentions(const std::string& message, const std::string& what) {
  return message.find(what) != std::string::npos;
}

}  // namespace

TEST(SdpValidate, ChromiumOffersPass) {
  for (const char* name : {"chromium_audio_offer.sdp", "chromium_av_simulcast_offer.sdp",
                           "chromium_recvonly_offer.sdp"}) {
    auto sd = parse(fixture(name));
    ASSERT_TRUE(sd.ok()) << name;
    auto r = validate_offer(sd.value(), AnswerOptions{});
    EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
    if (r.ok()) {
      EXPECT_EQ(sd.value().media[r.value().transport].kind, "audio") << name;
    }
  }
}

TEST(SdpValidate, MissingFingerprintIsNamed) {
  std::string m = problem([](SessionDescription& sd) {
    sd.fingerprint.clear();
    for (auto& s : sd.media) s.fingerprint.clear();
  });
  EXPECT_TRUE(mentions(m, "fingerprint")) << m;
}

TEST(SdpValidate, FingerprintHashAndLength) {
  std::string fp32 =
      "38:B2:08:8D:2D:8A:C3:9C:9C:48:5B:57:0F:87:70:33:40:D3:50:8F:C7:FB:64:2E:21:32:4F:63:4F:"
      "EF:AC:99";
  auto with = [&](std::string v) {
    return problem([v](SessionDescription& sd) {
      for (auto& s : sd.media) s.fingerprint = v;
    });
  };
  EXPECT_EQ(with("sha-256 " + fp32), "");
  EXPECT_EQ(with("SHA-256 " + fp32), "");  // hash names are case-insensitive
  EXPECT_TRUE(mentions(with("sha-1 " + fp32.substr(0, 59)), "sha-1")) << with("sha-1 x");
  EXPECT_TRUE(mentions(with("md5 " + fp32.substr(0, 47)), "md5"));
  EXPECT_TRUE(mentions(with("sha-256 AB:CD"), "bytes"));
  EXPECT_TRUE(mentions(with("sha-256 " + fp32 + ":00:11:22:33"), "bytes"));
  EXPECT_TRUE(mentions(with("sha-256 ZZ:" + fp32.substr(3)), "fingerprint"));
  EXPECT_EQ(with("sha-512 " + fp32 + ":" + fp32), "");
}

TEST(SdpValidate, SessionLevelFingerprintIsEnough) {
  auto m = problem([](SessionDescription& sd) {
    sd.fingerprint = sd.media[0].fingerprint;
    for (auto& s : sd.media) s.fingerprint.clear();
  });
  EXPECT_EQ(m, "");
}

TEST(SdpValidate, IceCredentials) {
  auto with = [](std::string ufrag, std::string pwd) {
    return problem([&](SessionDescription& sd) {
      for (auto& s : sd.media) s.ice_ufrag = ufrag, s.ice_pwd = pwd;
    });
  };
  std::string pwd22(22, 'p');
  EXPECT_EQ(with("abcd", pwd22), "");
  EXPECT_EQ(with("a+/9", std::string(256, 'x')), "");
  EXPECT_TRUE(mentions(with("abc", pwd22), "ice-ufrag"));
  EXPECT_TRUE(mentions(with(std::string(257, 'u'), pwd22), "ice-ufrag"));
  EXPECT_TRUE(mentions(with("ab_d", pwd22), "ice-ufrag"));
  EXPECT_TRUE(mentions(with("abcd", std::string(21, 'p')), "ice-pwd"));
  EXPECT_TRUE(mentions(with("abcd", std::string(257, 'p')), "ice-pwd"));
  EXPECT_TRUE(mentions(with("abcd", pwd22.substr(0, 21) + "*"), "ice-pwd"));
  EXPECT_TRUE(valid_ice_ufrag("Sif6"));
  EXPECT_FALSE(valid_ice_ufrag(""));
}

TEST(SdpValidate, NeedsAnAnswerableAudioSection) {
  auto m = problem([](SessionDescription& sd) {
    auto& s = sd.media[0];
    std::erase_if(s.codecs, [](const Codec& c) { return c.is("opus") || c.is("red"); });
    s.formats.clear();
    for (auto& c : s.codecs) s.formats.push_back(std::to_string(c.payload_type));
  });
  EXPECT_TRUE(mentions(m, "opus")) << m;
  auto rejected = problem([](SessionDescription& sd) { sd.media[0].port = 0; });
  EXPECT_TRUE(mentions(rejected, "audio")) << rejected;
  auto empty = validate_offer(SessionDescription{}, AnswerOptions{});
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(mentions(empty.error().message, "m-section"));
}

TEST(SdpValidate, RtcpMuxBundleAndSetup) {
  auto m = problem([](SessionDescription& sd) { sd.media[0].rtcp_mux = false; });
  EXPECT_TRUE(mentions(m, "rtcp-mux")) << m;
  auto passive = problem([](SessionDescription& sd) { sd.media[0].setup = Setup::kPassive; });
  EXPECT_TRUE(mentions(passive, "setup")) << passive;
  auto nomid = problem([](SessionDescription& sd) { sd.media[0].mid.clear(); });
  EXPECT_TRUE(mentions(nomid, "mid")) << nomid;

  // Two usable sections: both must be in the BUNDLE group, on one transport.
  auto two = [](SessionDescription& sd) {
    MediaSection second = sd.media[0];
    second.mid = "1";
    second.ssrcs.clear();
    sd.media.push_back(second);
  };
  EXPECT_EQ(problem([&](SessionDescription& sd) {
              two(sd);
              sd.groups = {{"BUNDLE", {"0", "1"}}};
            }),
            "");
  auto unbundled = problem([&](SessionDescription& sd) {
    two(sd);
    sd.groups = {{"BUNDLE", {"0"}}};
  });
  EXPECT_TRUE(mentions(unbundled, "BUNDLE")) << unbundled;
  auto split = problem([&](SessionDescription& sd) {
    two(sd);
    sd.groups = {{"BUNDLE", {"0", "1"}}};
    sd.media[1].ice_ufrag = "other";
  });
  EXPECT_TRUE(mentions(split, "ICE")) << split;
  auto dup = problem([&](SessionDescription& sd) {
    two(sd);
    sd.media[1].mid = "0";
  });
  EXPECT_TRUE(mentions(dup, "twice")) << dup;
}

TEST(SdpValidate, RejectedAndDataSectionsAreNotChecked) {
  auto m = problem([](SessionDescription& sd) {
    MediaSection data;
    data.kind = "application";
    data.protocol = "UDP/DTLS/SCTP";
    data.formats = {"webrtc-datachannel"};
    data.mid = "1";
    sd.media.push_back(data);  // no rtcp-mux, no own credentials: answered rejected
  });
  EXPECT_EQ(m, "");
}
