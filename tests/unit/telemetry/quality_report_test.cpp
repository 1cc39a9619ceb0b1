#include "telemetry/quality_report.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace hype::telemetry {
namespace {

namespace json = boost::json;

json::object parse(const char* text) {
  return json::parse(text).as_object();
}

constexpr const char* kGood = R"({"interval_s": 10, "mode": "sfu", "rtt_s": 0.04,
  "audio_in": [{"packets_received": 495, "packets_lost": 5, "jitter_s": 0.004,
                "jitter_buffer_s": 0.06, "concealed_samples": 960, "total_samples": 480000,
                "bytes_received": 40000}],
  "video_out": {"bitrate_bps": 4500000, "limitation": "bandwidth"}})";

TEST(QualityReport, ParsesAFullReport) {
  auto r = parse_quality_report(parse(kGood));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->sfu);
  EXPECT_DOUBLE_EQ(r->interval_s, 10);
  ASSERT_TRUE(r->rtt_s);
  EXPECT_DOUBLE_EQ(*r->rtt_s, 0.04);
  ASSERT_EQ(r->audio_in.size(), 1u);
  EXPECT_EQ(r->audio_in[0].packets_received, 495u);
  EXPECT_EQ(r->audio_in[0].packets_lost, 5u);
  EXPECT_DOUBLE_EQ(r->audio_in[0].jitter_s, 0.004);
  EXPECT_EQ(*r->audio_in[0].concealed_samples, 960u);
  ASSERT_TRUE(r->video_out);
  EXPECT_EQ(r->video_out->limitation, "bandwidth");
}

TEST(QualityReport, MinimalReportHasNoStreams) {
  auto r = parse_quality_report(parse(R"({"interval_s": 10, "mode": "p2p"})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->sfu);
  EXPECT_TRUE(r->audio_in.empty());
  EXPECT_FALSE(r->rtt_s);
  EXPECT_FALSE(r->video_out);
}

// Each bad input is refused whole, with the offending field named.
TEST(QualityReport, RefusesOutOfBoundsAndWrongTypes) {
  struct Case {
    const char* text;
    const char* field;
  } cases[] = {
      {R"({"mode": "p2p"})", "interval_s"},
      {R"({"interval_s": 0.5, "mode": "p2p"})", "interval_s"},
      {R"({"interval_s": 3600, "mode": "p2p"})", "interval_s"},
      {R"({"interval_s": "10", "mode": "p2p"})", "interval_s"},
      {R"({"interval_s": 10})", "mode"},
      {R"({"interval_s": 10, "mode": "mesh"})", "mode"},
      {R"({"interval_s": 10, "mode": "p2p", "rtt_s": -1})", "rtt_s"},
      {R"({"interval_s": 10, "mode": "p2p", "rtt_s": 1e300})", "rtt_s"},
      {R"({"interval_s": 10, "mode": "p2p", "audio_in": {}})", "audio_in"},
      {R"({"interval_s": 10, "mode": "p2p", "audio_in": [1]})", "audio_in[0]"},
      {R"({"interval_s": 10, "mode": "p2p", "audio_in": [{"packets_received": 5}]})",
       "audio_in[0].packets_*"},
      // 10 s at 200 packets/s at most.
      {R"({"interval_s": 10, "mode": "p2p",
           "audio_in": [{"packets_received": 2001, "packets_lost": 0}]})",
       "audio_in[0].packets_received"},
      {R"({"interval_s": 10, "mode": "p2p",
           "audio_in": [{"packets_received": 5, "packets_lost": 1.5}]})",
       "audio_in[0].packets_lost"},
      {R"({"interval_s": 10, "mode": "p2p",
           "audio_in": [{"packets_received": 5, "packets_lost": -1}]})",
       "audio_in[0].packets_lost"},
      {R"({"interval_s": 10, "mode": "p2p",
           "audio_in": [{"packets_received": 5, "packets_lost": 0, "jitter_s": 11}]})",
       "audio_in[0].jitter_s"},
      {R"({"interval_s": 10, "mode": "p2p", "audio_in": [{"packets_received": 5,
           "packets_lost": 0, "concealed_samples": 10, "total_samples": 5}]})",
       "audio_in[0].concealed_samples"},
      {R"({"interval_s": 10, "mode": "p2p",
           "audio_in": [{"packets_received": 5, "packets_lost": 0, "rtt_s": "x"}]})",
       "audio_in[0].rtt_s"},
      {R"({"interval_s": 10, "mode": "p2p", "video_out": {"limitation": "cpu"}})",
       "video_out.bitrate_bps"},
      {R"({"interval_s": 10, "mode": "p2p", "video_out": {"bitrate_bps": 1e9}})",
       "video_out.bitrate_bps"},
      {R"({"interval_s": 10, "mode": "p2p",
           "video_out": {"bitrate_bps": 1, "limitation": "thermal"}})",
       "video_out.limitation"},
  };
  for (const Case& c : cases) {
    auto r = parse_quality_report(parse(c.text));
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, "invalid_report");
    EXPECT_EQ(r.error().message.rfind(c.field, 0), 0u) << c.text << " -> " << r.error().message;
  }
}

TEST(QualityReport, RefusesTooManyStreams) {
  json::array streams;
  for (std::size_t i = 0; i <= kMaxAudioIn; ++i)
    streams.push_back(json::object{{"packets_received", 1}, {"packets_lost", 0}});
  json::object d{{"interval_s", 10}, {"mode", "sfu"}, {"audio_in", streams}};
  EXPECT_FALSE(parse_quality_report(d));
  d["audio_in"].as_array().pop_back();
  EXPECT_TRUE(parse_quality_report(d));
}

TEST(QualityReport, MouthToEarEstimateByPath) {
  AudioInReport a;
  a.jitter_buffer_s = 0.05;
  QualityReport p2p;
  p2p.rtt_s = 0.04;
  // P2P: 20 ms one way + 50 ms jitter buffer + 20 ms frame + 10 ms capture/playout.
  EXPECT_NEAR(*estimate_mouth_to_ear_s(p2p, a), 0.100, 1e-9);
  QualityReport sfu = p2p;
  sfu.sfu = true;  // two legs: the client's and (taken to be like it) the sender's
  EXPECT_NEAR(*estimate_mouth_to_ear_s(sfu, a), 0.120, 1e-9);
  QualityReport no_rtt;
  EXPECT_FALSE(estimate_mouth_to_ear_s(no_rtt, a));
  // A stream's own RTT (one P2P peer's path) wins over the report's.
  a.rtt_s = 0.1;
  EXPECT_NEAR(*estimate_mouth_to_ear_s(p2p, a), 0.05 + 0.05 + 0.03, 1e-9);
}

}  // namespace
}  // namespace hype::telemetry
