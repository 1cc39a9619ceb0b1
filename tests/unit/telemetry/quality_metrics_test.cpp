#include "telemetry/quality_metrics.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace hype::telemetry {
namespace {

namespace json = boost::json;

json::object report(std::uint64_t received, std::uint64_t lost, double rtt) {
  return json::object{{"interval_s", 10},
                      {"mode", "p2p"},
                      {"rtt_s", rtt},
                      {"audio_in", json::array{json::object{{"packets_received", received},
                                                            {"packets_lost", lost},
                                                            {"jitter_s", 0.004},
                                                            {"jitter_buffer_s", 0.04},
                                                            {"concealed_samples", 4800},
                                                            {"total_samples", 480000},
                                                            {"bytes_received", 40000}}}}};
}

TEST(QualityMetrics, RecordsOneObservationPerStream) {
  metrics::Registry reg;
  QualityMetrics q(reg);
  ASSERT_TRUE(q.ingest(report(450, 50, 0.02)));
  ASSERT_TRUE(q.ingest(report(500, 0, 0.02)));
  auto& loss = reg.histogram("voice_packet_loss_ratio", "", {}).get();
  EXPECT_EQ(loss.count(), 2u);
  EXPECT_NEAR(loss.sum(), 0.1, 1e-9);  // 50 / 500 and 0
  auto& latency = reg.histogram("voice_latency_seconds", "", {}).get();
  EXPECT_EQ(latency.count(), 2u);
  EXPECT_NEAR(latency.sum(), 2 * (0.01 + 0.04 + 0.02 + 0.01), 1e-9);
  auto& bitrate = reg.histogram("voice_bitrate_bytes_per_second", "", {}).get();
  EXPECT_NEAR(bitrate.sum(), 2 * 4000.0, 1e-6);  // 40 kB in 10 s
  auto& concealed = reg.histogram("voice_concealed_ratio", "", {}).get();
  EXPECT_NEAR(concealed.sum(), 2 * 0.01, 1e-9);
  auto& reports = reg.counter("voice_quality_reports_total", "", {"result"});
  EXPECT_EQ(reports.with({"accepted"}).value(), 2);
  EXPECT_EQ(reports.with({"rejected"}).value(), 0);
}

TEST(QualityMetrics, RejectedReportChangesNoHistogram) {
  metrics::Registry reg;
  QualityMetrics q(reg);
  auto bad = report(450, 50, 0.02);
  bad["rtt_s"] = 99;  // out of bounds: the whole report goes, also its valid stream
  EXPECT_FALSE(q.ingest(bad));
  EXPECT_EQ(reg.histogram("voice_packet_loss_ratio", "", {}).get().count(), 0u);
  EXPECT_EQ(reg.counter("voice_quality_reports_total", "", {"result"}).with({"rejected"}).value(),
            1);
}

TEST(QualityMetrics, SilentStreamsAreNotLoss) {
  metrics::Registry reg;
  QualityMetrics q(reg);
  ASSERT_TRUE(q.ingest(report(0, 0, 0.02)));  // DTX or muted for the whole interval
  EXPECT_EQ(reg.histogram("voice_packet_loss_ratio", "", {}).get().count(), 0u);
}

TEST(QualityMetrics, VideoLimitationByReason) {
  metrics::Registry reg;
  QualityMetrics q(reg);
  json::object d{{"interval_s", 10},
                 {"mode", "sfu"},
                 {"video_out", json::object{{"bitrate_bps", 3e6}, {"limitation", "cpu"}}}};
  ASSERT_TRUE(q.ingest(d));
  d["video_out"].as_object()["limitation"] = "none";
  ASSERT_TRUE(q.ingest(d));
  EXPECT_EQ(
      reg.counter("video_quality_limited_reports_total", "", {"reason"}).with({"cpu"}).value(), 1);
  EXPECT_EQ(reg.histogram("video_outbound_bitrate_bytes_per_second", "", {}).get().count(), 2u);
}

TEST(ReportGate, AllowsOneReportPerSpacing) {
  ReportGate g;
  EXPECT_TRUE(g.allow(1000));
  EXPECT_FALSE(g.allow(1000 + ReportGate::kMinSpacingMs - 1));
  EXPECT_TRUE(g.allow(1000 + ReportGate::kMinSpacingMs));
}

}  // namespace
}  // namespace hype::telemetry
