// Store suite, part 3: the voice event outbox and the analytics rollups, on both backends.
#include "store_fixture.hpp"

namespace hype::store::testing {
namespace {

TYPED_TEST_SUITE(StoreTest, Backends, BackendNames);

VoiceEventRow event(Id id, const std::string& type) {
  VoiceEventRow e;
  e.id = id;
  e.type = type;
  e.guild_id = 10;
  e.channel_id = 11;
  e.user_id = 12;
  e.at = 1'000'000 + id;
  e.duration_ms = type == "leave" ? 5000 : 0;
  e.mode = "p2p";
  e.node_id = "node-0";
  e.guild_users = 3;
  return e;
}

TYPED_TEST(StoreTest, OutboxKeepsEachEventOnceInIdOrderUntilDeleted) {
  auto& s = this->s();
  s.append_voice_event(event(7, "leave"));
  s.append_voice_event(event(5, "join"));
  s.append_voice_event(event(5, "join"));  // a retried append is not a second event
  auto rows = s.list_voice_events(10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, 5);
  EXPECT_EQ(rows[0].type, "join");
  EXPECT_EQ(rows[0].guild_users, 3);
  EXPECT_EQ(rows[1].id, 7);
  EXPECT_EQ(rows[1].duration_ms, 5000);
  EXPECT_EQ(rows[1].node_id, "node-0");
  EXPECT_EQ(s.list_voice_events(1).size(), 1u);
  s.delete_voice_events({5});
  rows = s.list_voice_events(10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, 7);
}

TYPED_TEST(StoreTest, AnalyticsDeltasApplyOncePerEventId) {
  auto& s = this->s();
  AnalyticsDelta join;
  join.event_id = 1;
  join.guild_id = 10;
  join.join_minute = 3 * 1440 + 5;  // day 3
  join.peak_day = 3;
  join.peak_users = 4;
  AnalyticsDelta leave;
  leave.event_id = 2;
  leave.guild_id = 10;
  leave.voice_ms = {{3, 60'000}, {4, 30'000}};
  AnalyticsDelta low_peak;
  low_peak.event_id = 3;
  low_peak.guild_id = 10;
  low_peak.join_minute = 3 * 1440 + 5;
  low_peak.peak_day = 3;
  low_peak.peak_users = 2;  // lower than the day's peak: the peak stays

  auto applied = s.apply_analytics({join, leave, join}, 100);  // the same id twice in a batch
  EXPECT_EQ(applied, (std::vector<Id>{1, 2}));
  EXPECT_TRUE(s.apply_analytics({leave, join}, 200).empty()) << "delivered again: duplicates";
  EXPECT_EQ(s.apply_analytics({low_peak, leave}, 300), (std::vector<Id>{3}));

  auto days = s.list_voice_daily(10, 0, 10);
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].day, 3);
  EXPECT_EQ(days[0].voice_ms, 60'000);
  EXPECT_EQ(days[0].peak_users, 4);
  EXPECT_EQ(days[0].joins, 2);
  EXPECT_EQ(days[1].day, 4);
  EXPECT_EQ(days[1].voice_ms, 30'000);
  EXPECT_EQ(days[1].joins, 0);
  auto minutes = s.list_joins_minutes(10, 0);
  ASSERT_EQ(minutes.size(), 1u);
  EXPECT_EQ(minutes[0].minute, 3 * 1440 + 5);
  EXPECT_EQ(minutes[0].joins, 2);
  EXPECT_TRUE(s.list_voice_daily(99, 0, 10).empty()) << "other guilds see nothing";
  EXPECT_EQ(s.list_voice_daily(10, 4, 4).size(), 1u);
  EXPECT_TRUE(s.list_joins_minutes(10, 3 * 1440 + 6).empty());

  // Pruning forgets old ids (their events were acknowledged long ago), not newer ones.
  s.prune_analytics_processed(250);
  EXPECT_EQ(s.apply_analytics({low_peak}, 400), std::vector<Id>{}) << "id 3 kept (300)";
  EXPECT_EQ(s.apply_analytics({leave}, 400), std::vector<Id>{2}) << "id 2 pruned (100)";
}

}  // namespace
}  // namespace hype::store::testing
