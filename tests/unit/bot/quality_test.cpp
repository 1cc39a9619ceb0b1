#include "bot/quality.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/json.hpp>

#include "telemetry/quality_report.hpp"

namespace hype::bot {
namespace {

namespace json = boost::json;

// Delivers packet `seq` of a 20 ms Opus stream, arriving `late_us` after its nominal time.
void deliver(Bot& b, std::uint16_t seq, std::int64_t late_us = 0) {
  std::array<std::uint8_t, 200> buf{};
  std::array<std::uint8_t, 60> payload{};
  const std::uint32_t ts = 1000u + seq * 960u;
  rtc::RtpBuilder rb(buf, {111, false, seq, ts, 0x1234});
  rb.payload(rtc::ByteSpan(payload.data(), payload.size()));
  std::size_t n = rb.finish();
  rtc::RtpPacket p;
  ASSERT_EQ(rtc::RtpPacket::parse(rtc::MutableByteSpan(buf.data(), n), p),
            rtc::RtpParseStatus::kOk);
  const std::int64_t sent = 1'000'000 + seq * 20'000;
  note_for_report(b, p, n, sent + 5'000 + late_us, sent);
}

TEST(BotQuality, ReportsLossBytesAndDelayOfTheIntervalOnly) {
  Bot b;
  b.next_report_us = 1;  // reporting
  for (std::uint16_t s = 0; s < 100; ++s)
    if (s % 10 != 3) deliver(b, s);  // 10 of 100 lost
  auto r = quality_report(b, 10);
  auto& a = r.at("audio_in").as_array().at(0).as_object();
  EXPECT_EQ(a.at("packets_received").to_number<std::uint64_t>(), 90u);
  EXPECT_EQ(a.at("packets_lost").to_number<std::uint64_t>(), 10u);
  EXPECT_NEAR(a.at("jitter_s").to_number<double>(), 0, 1e-9);   // perfectly paced
  EXPECT_NEAR(r.at("rtt_s").to_number<double>(), 0.005, 1e-9);  // the one-way delay measured
  // The next interval counts from where this one ended.
  for (std::uint16_t s = 100; s < 150; ++s) deliver(b, s);
  auto r2 = quality_report(b, 10);
  auto& a2 = r2.at("audio_in").as_array().at(0).as_object();
  EXPECT_EQ(a2.at("packets_received").to_number<std::uint64_t>(), 50u);
  EXPECT_EQ(a2.at("packets_lost").to_number<std::uint64_t>(), 0u);
  // What it sends is what the server accepts.
  EXPECT_TRUE(telemetry::parse_quality_report(r));
  EXPECT_TRUE(telemetry::parse_quality_report(r2));
}

TEST(BotQuality, JitterFollowsVariableArrival) {
  Bot b;
  for (std::uint16_t s = 0; s < 200; ++s) deliver(b, s, (s % 2) ? 10'000 : 0);
  auto r = quality_report(b, 10);
  double j = r.at("audio_in").as_array().at(0).at("jitter_s").to_number<double>();
  // |D| is 10 ms on every packet: J converges on it.
  EXPECT_NEAR(j, 0.010, 0.001);
  EXPECT_FALSE(r.contains("rtt_s"));  // not reporting: no delay samples kept
}

}  // namespace
}  // namespace hype::bot
