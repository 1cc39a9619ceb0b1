// Voice events (cluster::EventLog) from VoiceService, and the analytics consumer that folds
// them into the store's rollups: what each voice change emits, the rollup arithmetic (a
// session across midnight), and at-least-once delivery counted once.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "chat/permissions.hpp"
#include "core/errors.hpp"
#include "unit/voice/voice_world.hpp"
#include "voice/analytics.hpp"
#include "voice/store_event_log.hpp"

using namespace hype;
using cluster::VoiceEvent;
using cluster::VoiceEventType;

namespace {

constexpr std::int64_t kDay = voice::kMsPerDay;

class VoiceEvents : public hype::testing::VoiceWorld {
 protected:
  Id member(const std::string& name) {
    Id id = user(name);
    chat_->join_invite(id, chat_->create_invite(owner_, guild_, 0, 0).code);
    return id;
  }
  std::vector<VoiceEvent> all() { return events_->read("test", 10000); }
  static std::vector<VoiceEvent> of(const std::vector<VoiceEvent>& es, VoiceEventType t) {
    std::vector<VoiceEvent> out;
    for (auto& e : es)
      if (e.type == t) out.push_back(e);
    return out;
  }
};

TEST_F(VoiceEvents, JoinLeaveMoveAndStreamsAreRecorded) {
  Id a = member("a"), b = member("b");
  Id other = chat_->create_channel(owner_, guild_, {"other", store::ChannelKind::voice}).id;
  voice_->join(a, voice_channel_, false, false);
  voice_->join(b, voice_channel_, false, false);
  voice_->join(b, voice_channel_, true, false);  // already there: same stay, no second join
  voice_->start_stream(a, voice_channel_);
  voice_->join(a, other, false, false);  // a move: stream_stop + leave, then a join
  voice_->leave(b, voice_channel_);
  voice_->leave_any(a);

  auto es = all();
  std::vector<VoiceEventType> types;
  for (auto& e : es) types.push_back(e.type);
  using T = VoiceEventType;
  EXPECT_EQ(types, (std::vector<T>{T::join, T::join, T::stream_start, T::stream_stop, T::leave,
                                   T::join, T::leave, T::leave}));
  std::map<Id, int> ids;
  for (auto& e : es) {
    EXPECT_NE(e.id, 0);
    EXPECT_EQ(++ids[e.id], 1) << "ids are unique";
    EXPECT_EQ(e.guild_id, guild_);
    EXPECT_GT(e.at, 0);
    EXPECT_EQ(e.mode, "p2p");
  }
  auto joins = of(es, T::join);
  EXPECT_EQ(joins[0].user_id, a);
  EXPECT_EQ(joins[0].channel_id, voice_channel_);
  EXPECT_EQ(joins[0].guild_users, 1);
  EXPECT_EQ(joins[1].guild_users, 2);
  EXPECT_EQ(joins[2].channel_id, other);
  EXPECT_EQ(joins[2].guild_users, 2) << "a moved within the guild: still two in voice";
  auto leaves = of(es, T::leave);
  EXPECT_EQ(leaves[0].user_id, a);
  EXPECT_EQ(leaves[0].channel_id, voice_channel_) << "the channel left, not the one joined";
  EXPECT_EQ(leaves[1].user_id, b);
  EXPECT_EQ(leaves[1].guild_users, 1);
  EXPECT_EQ(leaves[2].channel_id, other);
  EXPECT_EQ(leaves[2].guild_users, 0);
  for (auto& l : leaves) EXPECT_GE(l.duration_ms, 0);
  EXPECT_EQ(of(es, T::stream_stop)[0].user_id, a);
}

TEST_F(VoiceEvents, ModeSwitchesAreRecorded) {
  std::vector<Id> people;
  for (int i = 0; i < 9; ++i) people.push_back(member("p" + std::to_string(i)));
  for (Id p : people) voice_->join(p, voice_channel_, false, false);
  auto switches = of(all(), VoiceEventType::mode_switch);
  ASSERT_EQ(switches.size(), 1u);
  EXPECT_EQ(switches[0].mode, "sfu");
  EXPECT_EQ(switches[0].channel_id, voice_channel_);
  EXPECT_EQ(of(all(), VoiceEventType::join).back().mode, "sfu") << "the 9th joins the SFU";
}

TEST(VoiceAnalytics, SessionAcrossMidnightSplitsItsTime) {
  EXPECT_TRUE(voice::split_by_day(5 * kDay, 5 * kDay).empty());
  using P = std::vector<std::pair<std::int64_t, std::int64_t>>;
  EXPECT_EQ(voice::split_by_day(5 * kDay + 1000, 5 * kDay + 61'000), (P{{5, 60'000}}));
  // 23:50 to 00:20 the next day: 10 minutes on day 5, 20 on day 6.
  EXPECT_EQ(voice::split_by_day(6 * kDay - 600'000, 6 * kDay + 1'200'000),
            (P{{5, 600'000}, {6, 1'200'000}}));
  // Two midnights: the whole middle day.
  EXPECT_EQ(voice::split_by_day(6 * kDay - 1000, 7 * kDay + 2000),
            (P{{5, 1000}, {6, kDay}, {7, 2000}}));

  VoiceEvent leave{.id = 9,
                   .type = VoiceEventType::leave,
                   .guild_id = 3,
                   .at = 6 * kDay + 1'200'000,
                   .duration_ms = 1'800'000};
  auto d = voice::analytics_delta(leave);
  EXPECT_EQ(d.event_id, 9);
  EXPECT_EQ(d.voice_ms, (P{{5, 600'000}, {6, 1'200'000}}));
  EXPECT_EQ(d.join_minute, -1);
  VoiceEvent join{.id = 8,
                  .type = VoiceEventType::join,
                  .guild_id = 3,
                  .at = 6 * kDay + 61'000,
                  .guild_users = 4};
  d = voice::analytics_delta(join);
  EXPECT_EQ(d.join_minute, 6 * 1440 + 1);
  EXPECT_EQ(d.peak_day, 6);
  EXPECT_EQ(d.peak_users, 4);
  EXPECT_TRUE(d.voice_ms.empty());
}

// An EventLog whose acknowledgements can be lost, as when the consumer dies between applying
// and acknowledging: everything read is delivered again.
class ForgetfulLog final : public cluster::EventLog {
 public:
  explicit ForgetfulLog(cluster::EventLog& inner) : inner_(inner) {}
  void append(const VoiceEvent& e) override { inner_.append(e); }
  std::vector<VoiceEvent> read(const std::string& g, int max) override {
    return inner_.read(g, max);
  }
  void ack(const std::string& g, const std::vector<Id>& ids) override {
    if (!drop_acks) inner_.ack(g, ids);
  }
  bool drop_acks = true;

 private:
  cluster::EventLog& inner_;
};

TEST_F(VoiceEvents, RedeliveredEventsCountOnce) {
  auto log = voice::make_store_event_log(*store_);
  ForgetfulLog forgetful(*log);
  Id day = 20000;
  auto at = [&](std::int64_t ms) { return day * kDay + ms; };
  std::vector<VoiceEvent> sent = {
      {.id = 1, .type = VoiceEventType::join, .guild_id = guild_, .at = at(1000), .guild_users = 1},
      {.id = 2, .type = VoiceEventType::join, .guild_id = guild_, .at = at(2000), .guild_users = 2},
      {.id = 3, .type = VoiceEventType::mode_switch, .guild_id = guild_, .at = at(2500)},
      {.id = 4,
       .type = VoiceEventType::leave,
       .guild_id = guild_,
       .at = at(62'000),
       .duration_ms = 60'000,
       .guild_users = 1},
  };
  for (auto& e : sent) log->append(e);
  log->append(sent[0]);  // a retried append

  voice::AnalyticsConsumer consumer(forgetful, *store_, voice::kAnalyticsGroup);
  auto first = consumer.poll(100, at(63'000));
  EXPECT_EQ(first.read, 4);
  EXPECT_EQ(first.applied, 4);
  EXPECT_EQ(first.duplicates, 0);
  EXPECT_DOUBLE_EQ(first.lag_seconds, 62.0);
  // The acknowledgement was lost: a restarted consumer gets the same four again.
  voice::AnalyticsConsumer restarted(forgetful, *store_, voice::kAnalyticsGroup);
  forgetful.drop_acks = false;
  auto second = restarted.poll(100, at(64'000));
  EXPECT_EQ(second.read, 4);
  EXPECT_EQ(second.applied, 0);
  EXPECT_EQ(second.duplicates, 4);
  auto third = restarted.poll(100, at(65'000));
  EXPECT_EQ(third.read, 0) << "acknowledged: gone from the outbox";
  EXPECT_EQ(third.lag_seconds, 0);

  auto days = store_->list_voice_daily(guild_, day, day);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].voice_ms, 60'000);
  EXPECT_EQ(days[0].peak_users, 2);
  EXPECT_EQ(days[0].joins, 2);
  auto minutes = store_->list_joins_minutes(guild_, day * 1440);
  ASSERT_EQ(minutes.size(), 1u);
  EXPECT_EQ(minutes[0].joins, 2);
}

TEST_F(VoiceEvents, AnalyticsAreForGuildManagersOnly) {
  Id m = member("m");
  Id stranger = user("stranger");
  std::int64_t now = 20000 * kDay + 5000;
  auto a = voice::guild_analytics(*chat_, *store_, owner_, guild_, 3, now);
  EXPECT_EQ(a.to_day, 20000);
  EXPECT_EQ(a.from_day, 19998);
  ASSERT_EQ(a.days.size(), 3u) << "every day, zeros included";
  EXPECT_EQ(a.days[2].day, 20000);
  try {
    voice::guild_analytics(*chat_, *store_, m, guild_, 3, now);
    FAIL() << "a plain member is not a manager";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 403);
  }
  try {
    voice::guild_analytics(*chat_, *store_, stranger, guild_, 3, now);
    FAIL() << "not a member";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 404);
  }
  auto role = chat_->create_role(owner_, guild_, "mods", chat::perm::kManageGuild);
  chat_->set_member_roles(owner_, guild_, m, {role.id});
  EXPECT_EQ(voice::guild_analytics(*chat_, *store_, m, guild_, 200, now).days.size(), 90u)
      << "MANAGE_GUILD is enough; days are capped at 90";
}

}  // namespace
