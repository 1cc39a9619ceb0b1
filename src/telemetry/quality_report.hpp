// Client quality reports: the compact getStats summary a client sends every 10 s on the
// signaling socket it already has (`quality` on /voice for SFU sessions, on /gateway for P2P
// calls; docs/protocol.md "Quality reports"). parse_quality_report() validates one strictly and
// bounds every value, so a client cannot poison the aggregates with absurd numbers: a report
// with any field out of range, of the wrong type, or with too many entries is refused whole
// (the error names the field). Counts are deltas over the report's interval, not totals.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace hype::telemetry {

// One received audio stream over the interval.
struct AudioInReport {
  std::uint64_t packets_received = 0;
  std::uint64_t packets_lost = 0;
  double jitter_s = 0;                    // RTP interarrival jitter (RFC 3550)
  std::optional<double> jitter_buffer_s;  // mean jitter buffer delay of emitted samples
  std::optional<std::uint64_t> concealed_samples, total_samples;
  std::optional<std::uint64_t> bytes_received;
  std::optional<double> rtt_s;  // this stream's own path (P2P: one per peer); else the report's
};

// The client's outgoing screen share (video) over the interval.
struct VideoOutReport {
  double bitrate_bps = 0;
  std::string limitation = "none";  // none | bandwidth | cpu | other (qualityLimitationReason)
};

struct QualityReport {
  double interval_s = 10;
  std::optional<double> rtt_s;  // round trip on the client's media path (P2P: to the peer)
  bool sfu = false;             // the audio went through the SFU (mode "sfu"), else P2P
  std::vector<AudioInReport> audio_in;
  std::optional<VideoOutReport> video_out;
};

// Bounds (docs/protocol.md lists them).
constexpr double kMinIntervalS = 1, kMaxIntervalS = 60;
constexpr std::size_t kMaxAudioIn = 64;
constexpr double kMaxPacketsPerSecond = 200;  // Opus at 5 ms frames, with room
constexpr double kMaxRttS = 10, kMaxJitterS = 10, kMaxJitterBufferS = 10;
constexpr double kMaxSamplesPerSecond = 2 * 48000;  // stereo at 48 kHz
constexpr double kMaxAudioBitsPerSecond = 1e6;
constexpr double kMaxVideoBitsPerSecond = 1e8;

// Errors: code "invalid_report", message naming the field.
Result<QualityReport> parse_quality_report(const boost::json::object& d);

// The estimate behind voice_latency_seconds for one received stream (design note in
// docs/design/observability.md): network one way + jitter buffer + one 20 ms Opus frame +
// 10 ms for capture and playout buffers. Network one way is RTT/2 on a P2P path; through the
// SFU the client's RTT covers its own leg twice and the sender's leg is taken to be like it,
// so one way ~ RTT. Without an RTT the report gives no latency.
std::optional<double> estimate_mouth_to_ear_s(const QualityReport& r, const AudioInReport& a);

}  // namespace hype::telemetry
