#include <gtest/gtest.h>

#include "cluster/coordinator.hpp"

using namespace hype;
using namespace hype::cluster;

namespace {
VoiceState vs(Id user, Id channel, Id guild = 1) {
  VoiceState s;
  s.user_id = user;
  s.channel_id = channel;
  s.guild_id = guild;
  return s;
}
}  // namespace

TEST(Coordinator, VoiceJoinMovesBetweenChannels) {
  auto c = make_local_coordinator();
  auto r = c->voice_join(vs(1, 10), 0);
  EXPECT_FALSE(r.full);
  EXPECT_FALSE(r.previous);
  EXPECT_EQ(r.count, 1);
  c->voice_join(vs(2, 10), 0);
  auto moved = c->voice_join(vs(1, 20), 0);
  ASSERT_TRUE(moved.previous);
  EXPECT_EQ(moved.previous->channel_id, 10);
  EXPECT_EQ(c->channel_voice_states(10).size(), 1u);
  EXPECT_EQ(c->channel_voice_states(20).size(), 1u);
  EXPECT_EQ(c->active_voice_channels(), 2);
  EXPECT_EQ(c->active_voice_users(), 2);
}

TEST(Coordinator, UserLimitIsAtomic) {
  auto c = make_local_coordinator();
  EXPECT_FALSE(c->voice_join(vs(1, 10), 2).full);
  EXPECT_FALSE(c->voice_join(vs(2, 10), 2).full);
  EXPECT_TRUE(c->voice_join(vs(3, 10), 2).full);
  EXPECT_FALSE(c->voice_join(vs(2, 10), 2).full) << "rejoin own channel";
  EXPECT_FALSE(c->voice_state(3));
}

TEST(Coordinator, LeaveUpdateAndPresence) {
  auto c = make_local_coordinator();
  c->voice_join(vs(1, 10), 0);
  EXPECT_FALSE(c->voice_leave(1, 11)) << "wrong channel";
  auto u = c->voice_update(1, true, false);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->self_mute);
  EXPECT_TRUE(c->voice_leave(1, 0));
  EXPECT_EQ(c->active_voice_channels(), 0);
  EXPECT_EQ(c->presence_connect(5), 1);
  EXPECT_EQ(c->presence_connect(5), 2);
  EXPECT_TRUE(c->is_online(5));
  EXPECT_EQ(c->presence_disconnect(5), 1);
  EXPECT_EQ(c->presence_disconnect(5), 0);
  EXPECT_FALSE(c->is_online(5));
}
