#include "bot/quality.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <vector>

namespace hype::bot {

namespace json = boost::json;

namespace {
constexpr double kClockRate = 48000;  // Opus RTP clock
}  // namespace

void note_for_report(Bot& b, const rtc::RtpPacket& p, std::size_t bytes, std::int64_t now_us,
                     std::int64_t sent_at_us) {
  Stream& s = b.streams[p.ssrc()];
  std::int64_t q = s.q_unwrap.unwrap(p.sequence_number());
  if (!s.q_any) s.q_first = s.q_highest = q, s.q_any = true;
  s.q_first = std::min(s.q_first, q);
  s.q_highest = std::max(s.q_highest, q);
  ++s.q_received;
  s.q_bytes += bytes;
  // RFC 3550 6.4.1: D = (arrival difference) - (RTP timestamp difference), J += (|D| - J) / 16.
  if (s.q_transit) {
    double arrival = static_cast<double>(now_us - s.last_arrival_us) / 1e6;
    double sent =
        static_cast<double>(static_cast<std::int32_t>(p.timestamp() - s.last_ts)) / kClockRate;
    s.jitter_s += (std::fabs(arrival - sent) - s.jitter_s) / 16;
  }
  s.q_transit = true;
  s.last_arrival_us = now_us;
  s.last_ts = p.timestamp();
  // Only while reporting (the next report clears them), and bounded all the same.
  if (b.next_report_us > 0 && sent_at_us >= 0 && now_us >= sent_at_us &&
      b.report_delay_us.size() < 100'000)
    b.report_delay_us.push_back(now_us - sent_at_us);
}

json::object quality_report(Bot& b, double interval_s) {
  json::array audio;
  for (auto& [ssrc, s] : b.streams) {
    if (!s.q_any || audio.size() >= 64) continue;
    const auto expected = static_cast<std::uint64_t>(s.q_highest - s.q_first + 1);
    const std::uint64_t d_expected = expected - std::min(expected, s.rep_expected);
    const std::uint64_t d_received = s.q_received - s.rep_received;
    // Late packets of the last interval can make received exceed expected here.
    const std::uint64_t lost = d_expected - std::min(d_expected, d_received);
    audio.push_back(json::object{{"packets_received", d_received},
                                 {"packets_lost", lost},
                                 {"jitter_s", std::min(s.jitter_s, 10.0)},
                                 {"bytes_received", s.q_bytes - s.rep_bytes}});
    s.rep_expected = expected;
    s.rep_received = s.q_received;
    s.rep_bytes = s.q_bytes;
  }
  json::object d{{"interval_s", interval_s}, {"mode", "sfu"}, {"audio_in", std::move(audio)}};
  if (!b.report_delay_us.empty()) {
    auto mid =
        b.report_delay_us.begin() + static_cast<std::ptrdiff_t>(b.report_delay_us.size() / 2);
    std::nth_element(b.report_delay_us.begin(), mid, b.report_delay_us.end());
    d["rtt_s"] = std::min(static_cast<double>(*mid) / 1e6, 10.0);
    b.report_delay_us.clear();
  }
  return d;
}

}  // namespace hype::bot
