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
      bitrate_(hist(reg, "voice_bitrate_bits",
                    "seed: voice_bitrate_kbps. Received audio bitrate per stream, bits per second",
                    {8e3, 16e3, 24e3, 32e3, 48e3, 64e3, 96e3, 128e3, 256e3})),
      video_bitrate_(hist(reg, "video_outbound_bitrate_bits",
                          "Screen-share senders' bitrate, bits per second, from client reports",
                          {2.5e5, 5e5, 1e6, 2e6, 4e6, 6e6, 8e6, 1.2e7})),
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
    if (a.bytes_received)
      bitrate_.observe(static_cast<double>(*a.bytes_received) * 8 / r.interval_s);
  }
  if (r.video_out) {
    video_bitrate_.observe(r.video_out->bitrate_bps);
    if (r.video_out->limitation != "none") limited_.with({r.video_out->limitation}).inc();
  }
}

}  // namespace hype::telemetry
