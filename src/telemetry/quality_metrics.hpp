// Aggregates validated client quality reports (quality_report.hpp) into the node's voice
// quality histograms: voice_latency_seconds, voice_packet_loss_ratio, voice_jitter_seconds,
// voice_concealed_ratio, voice_bitrate_bytes_per_second, video_outbound_bitrate_bytes_per_second,
// plus
// video_quality_limited_reports_total{reason} and voice_quality_reports_total{result}. One
// observation per received stream per report; no per-user or per-channel labels, so the
// series count does not grow with users. Thread-safe (the instruments are atomics).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

#include "core/metrics.hpp"
#include "core/result.hpp"
#include "telemetry/quality_report.hpp"
#include "telemetry/voice_errors.hpp"

namespace hype::telemetry {

class QualityMetrics {
 public:
  explicit QualityMetrics(metrics::Registry& reg);

  // Validates and records one report; the error (invalid_report) is counted as rejected.
  Result<void> ingest(const boost::json::object& d);
  void record(const QualityReport& r);
  void count_rejected() {
    rejected_.inc();
    error_.inc();
  }

 private:
  metrics::Histogram &latency_, &loss_, &jitter_, &concealed_, &bitrate_, &video_bitrate_;
  metrics::Counter &accepted_, &rejected_, &error_;
  metrics::Family<metrics::Counter>& limited_;
};

// Per connection: at most one report per kMinSpacingMs (clients send one per 10 s); earlier
// ones are refused with rate_limited and counted as rejected.
class ReportGate {
 public:
  static constexpr std::int64_t kMinSpacingMs = 4000;
  bool allow(std::int64_t now_ms) {
    if (any_ && now_ms - last_ms_ < kMinSpacingMs) return false;
    any_ = true;
    last_ms_ = now_ms;
    return true;
  }

 private:
  bool any_ = false;
  std::int64_t last_ms_ = 0;
};

}  // namespace hype::telemetry
