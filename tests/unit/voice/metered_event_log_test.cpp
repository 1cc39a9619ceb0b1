// voice_session_duration_seconds is fed by leave events on their way to the real EventLog.
#include "voice/metered_event_log.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hype::voice {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MeteredEventLog, LeavesFeedTheSessionHistogramAndEveryEventReachesTheLog) {
  metrics::Registry registry;
  auto log = make_metered_event_log(cluster::make_memory_event_log(), registry);
  // Exposed before any session ends, so dashboards and alerts see the series at once.
  EXPECT_TRUE(has_line(registry.render(), "voice_session_duration_seconds_count 0"));

  log->append({.id = 1, .type = cluster::VoiceEventType::join, .user_id = 7});
  log->append(
      {.id = 2, .type = cluster::VoiceEventType::leave, .user_id = 7, .duration_ms = 90'000});
  log->append(
      {.id = 3, .type = cluster::VoiceEventType::leave, .user_id = 8, .duration_ms = 5'000});
  log->append({.id = 4, .type = cluster::VoiceEventType::leave, .user_id = 9, .duration_ms = -3});

  auto text = registry.render();
  EXPECT_TRUE(has_line(text, "voice_session_duration_seconds_count 3")) << text;
  EXPECT_TRUE(has_line(text, "voice_session_duration_seconds_sum 95")) << text;
  EXPECT_TRUE(has_line(text, "voice_session_duration_seconds_bucket{le=\"10\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "voice_session_duration_seconds_bucket{le=\"60\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "voice_session_duration_seconds_bucket{le=\"300\"} 3")) << text;

  // The inner log got all four, in order, and reads/acks pass through.
  auto got = log->read("g", 10);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].type, cluster::VoiceEventType::join);
  EXPECT_EQ(got[1].duration_ms, 90'000);
  log->ack("g", {1, 2, 3, 4});
  EXPECT_TRUE(log->read("g", 10).empty());
}

}  // namespace
}  // namespace hype::voice
