#include "telemetry/quality_report.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <string_view>

namespace hype::telemetry {

namespace json = boost::json;

namespace {

Error invalid(std::string_view field, std::string_view why) {
  return Error{"invalid_report", std::string(field) + " " + std::string(why)};
}

// A number within [lo, hi]; nullopt with `err` set when present but wrong, nullopt and no error
// when absent (or null).
std::optional<double> number(const json::object& o, std::string_view key, double lo, double hi,
                             std::string_view path, std::optional<Error>& err) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  double x = 0;
  if (v->is_int64())
    x = static_cast<double>(v->as_int64());
  else if (v->is_uint64())
    x = static_cast<double>(v->as_uint64());
  else if (v->is_double())
    x = v->as_double();
  else {
    err = invalid(path, "must be a number");
    return std::nullopt;
  }
  if (!std::isfinite(x) || x < lo || x > hi) {
    err = invalid(path, "out of range");
    return std::nullopt;
  }
  return x;
}

std::optional<std::uint64_t> count(const json::object& o, std::string_view key, double hi,
                                   std::string_view path, std::optional<Error>& err) {
  auto x = number(o, key, 0, hi, path, err);
  if (!x) return std::nullopt;
  if (std::floor(*x) != *x) {
    err = invalid(path, "must be a whole number");
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(*x);
}

std::string field(std::string_view base, std::size_t i, std::string_view key) {
  return std::string(base) + "[" + std::to_string(i) + "]." + std::string(key);
}

}  // namespace

Result<QualityReport> parse_quality_report(const json::object& d) {
  QualityReport r;
  std::optional<Error> err;
  auto interval = number(d, "interval_s", kMinIntervalS, kMaxIntervalS, "interval_s", err);
  if (err) return *err;
  if (!interval) return invalid("interval_s", "is required");
  r.interval_s = *interval;
  r.rtt_s = number(d, "rtt_s", 0, kMaxRttS, "rtt_s", err);
  if (err) return *err;
  const json::value* mode = d.if_contains("mode");
  if (!mode || !mode->is_string() || (mode->as_string() != "p2p" && mode->as_string() != "sfu"))
    return invalid("mode", "must be \"p2p\" or \"sfu\"");
  r.sfu = mode->as_string() == "sfu";

  const double max_packets = kMaxPacketsPerSecond * r.interval_s;
  const double max_samples = kMaxSamplesPerSecond * r.interval_s;
  if (const json::value* a = d.if_contains("audio_in"); a && !a->is_null()) {
    if (!a->is_array()) return invalid("audio_in", "must be an array");
    if (a->as_array().size() > kMaxAudioIn) return invalid("audio_in", "has too many entries");
    std::size_t i = 0;
    for (const json::value& e : a->as_array()) {
      const json::object* o = e.if_object();
      if (!o) return invalid(field("audio_in", i, ""), "must be an object");
      AudioInReport in;
      auto received =
          count(*o, "packets_received", max_packets, field("audio_in", i, "packets_received"), err);
      auto lost = count(*o, "packets_lost", max_packets, field("audio_in", i, "packets_lost"), err);
      if (err) return *err;
      if (!received || !lost) return invalid(field("audio_in", i, "packets_*"), "are required");
      in.packets_received = *received;
      in.packets_lost = *lost;
      in.jitter_s =
          number(*o, "jitter_s", 0, kMaxJitterS, field("audio_in", i, "jitter_s"), err).value_or(0);
      in.jitter_buffer_s = number(*o, "jitter_buffer_s", 0, kMaxJitterBufferS,
                                  field("audio_in", i, "jitter_buffer_s"), err);
      in.concealed_samples = count(*o, "concealed_samples", max_samples,
                                   field("audio_in", i, "concealed_samples"), err);
      in.total_samples =
          count(*o, "total_samples", max_samples, field("audio_in", i, "total_samples"), err);
      in.bytes_received = count(*o, "bytes_received", kMaxAudioBitsPerSecond / 8 * r.interval_s,
                                field("audio_in", i, "bytes_received"), err);
      in.rtt_s = number(*o, "rtt_s", 0, kMaxRttS, field("audio_in", i, "rtt_s"), err);
      if (err) return *err;
      if (in.concealed_samples && in.total_samples && *in.concealed_samples > *in.total_samples)
        return invalid(field("audio_in", i, "concealed_samples"), "exceeds total_samples");
      r.audio_in.push_back(in);
      ++i;
    }
  }
  if (const json::value* v = d.if_contains("video_out"); v && !v->is_null()) {
    const json::object* o = v->if_object();
    if (!o) return invalid("video_out", "must be an object");
    VideoOutReport out;
    auto bps = number(*o, "bitrate_bps", 0, kMaxVideoBitsPerSecond, "video_out.bitrate_bps", err);
    if (err) return *err;
    if (!bps) return invalid("video_out.bitrate_bps", "is required");
    out.bitrate_bps = *bps;
    if (const json::value* l = o->if_contains("limitation"); l && !l->is_null()) {
      const json::string* s = l->if_string();
      if (!s || (*s != "none" && *s != "bandwidth" && *s != "cpu" && *s != "other"))
        return invalid("video_out.limitation", "must be none, bandwidth, cpu or other");
      out.limitation = std::string(*s);
    }
    r.video_out = out;
  }
  return r;
}

std::optional<double> estimate_mouth_to_ear_s(const QualityReport& r, const AudioInReport& a) {
  std::optional<double> rtt = a.rtt_s ? a.rtt_s : r.rtt_s;
  if (!rtt) return std::nullopt;
  constexpr double kFrameS = 0.020, kCapturePlayoutS = 0.010;
  const double network = r.sfu ? *rtt : *rtt / 2;
  return network + a.jitter_buffer_s.value_or(0) + kFrameS + kCapturePlayoutS;
}

}  // namespace hype::telemetry
