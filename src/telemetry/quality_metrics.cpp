#include "telemetry/quality_metrics.hpp"

#include <string>
#include <vector>

namespace hype::telemetry {

namespace {

const std::vector<double> kRatioBuckets{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1};

metrics::Histogram& hist(metrics::Registry& reg, const char* name, const char* help,
                         std::vector<double> bounds) {
  return reg.histogram(name, help, std::move(bounds)).get();
}

}  // namespace

QualityMetrics::QualityMetrics(metrics::Registry& reg)
    : latency_(hist(reg, "voice_latency_seconds",
                    "seed: voice_latency_ms. Estimated one-way mouth-to-ear latency per received "
                    "audio stream, from client reports (network one way + jitter buffer + 20 ms "
                    "frame + 10 ms capture and playout)",
                    {0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2})),
      loss_(hist(reg, "voice_packet_loss_ratio",
                 "seed: voice_packet_loss. Lost / expected audio packets per received stream per "
                 "client report interval",
                 kRatioBuckets)),
      jitter_(hist(reg, "voice_jitter_seconds",
                   "seed: voice_jitter_ms. Interarrival jitter of received audio, from client "
                   "reports",
                   {0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2})),
      concealed_(hist(reg, "voice_concealed_ratio",
                      "Concealed / played audio samples per received stream per report interval "
                      "(what users hear as glitches)",
                      kRatioBuckets)),
      bitrate_(hist(reg, "voice_bitrate_bytes_per_second",
                    "seed: voice_bitrate_kbps. Received audio bitrate per stream, in bytes per "
                    "second (base unit; x8 for bits)",
                    {1e3, 2e3, 3e3, 4e3, 6e3, 8e3, 12e3, 16e3, 32e3})),
      video_bitrate_(hist(reg, "video_outbound_bitrate_bytes_per_second",
                          "Screen-share senders' bitrate from client reports, in bytes per second "
                          "(base unit; x8 for bits)",
                          {31250, 62500, 125000, 250000, 500000, 750000, 1e6, 1.5e6})),
      accepted_(reg.counter("voice_quality_reports_total",
                            "Client quality reports received, by result", {"result"})
                    .with({"accepted"})),
      rejected_(reg.counter("voice_quality_reports_total",
                            "Client quality reports received, by result", {"result"})
                    .with({"rejected"})),
      error_(
          reg.counter("voice_errors_total", kVoiceErrorsHelp, {"kind"}).with({"report_rejected"})),
      limited_(reg.counter("video_quality_limited_reports_total",
                           "Screen-share sender reports whose encoder was limited, by reason "
                           "(qualityLimitationReason)",
                           {"reason"})) {}

Result<void> QualityMetrics::ingest(const boost::json::object& d) {
  auto r = parse_quality_report(d);
  if (!r) {
    count_rejected();
    return r.error();
  }
  record(*r);
  return {};
}

void QualityMetrics::record(const QualityReport& r) {
  accepted_.inc();
  for (const AudioInReport& a : r.audio_in) {
    const std::uint64_t expected = a.packets_received + a.packets_lost;
    if (expected == 0) continue;  // silent (DTX) or not flowing: nothing to say about quality
    loss_.observe(static_cast<double>(a.packets_lost) / static_cast<double>(expected));
    jitter_.observe(a.jitter_s);
    if (auto l = estimate_mouth_to_ear_s(r, a)) latency_.observe(*l);
    if (a.concealed_samples && a.total_samples && *a.total_samples > 0)
      concealed_.observe(static_cast<double>(*a.concealed_samples) /
                         static_cast<double>(*a.total_samples));
    if (a.bytes_received) bitrate_.observe(static_cast<double>(*a.bytes_received) / r.interval_s);
  }
  if (r.video_out) {
    video_bitrate_.observe(r.video_out->bitrate_bps / 8);
    if (r.video_out->limitation != "none") limited_.with({r.video_out->limitation}).inc();
  }
}

}  // namespace hype::telemetry
