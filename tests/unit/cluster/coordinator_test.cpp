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

// Go Live: self_stream belongs to one stay in one channel.
TEST(Coordinator, SetStreamBelongsToTheStayInThatChannel) {
  auto c = make_local_coordinator();
  EXPECT_FALSE(c->voice_set_stream(1, 10, true)) << "not in voice";
  c->voice_join(vs(1, 10), 0);
  EXPECT_FALSE(c->voice_set_stream(1, 11, true)) << "another channel";
  EXPECT_FALSE(c->voice_state(1)->self_stream);
  auto live = c->voice_set_stream(1, 10, true);
  ASSERT_TRUE(live);
  EXPECT_TRUE(live->self_stream);
  EXPECT_EQ(live->channel_id, 10);
  EXPECT_TRUE(c->channel_voice_states(10).at(0).self_stream);
  // Rejoining the same channel (a mode switch's token refresh) keeps it, as it keeps the
  // session; mute changes and suppression do not touch it.
  c->voice_join(vs(1, 10), 0);
  c->voice_update(1, true, true);
  c->voice_suppress(1, true);
  EXPECT_TRUE(c->voice_state(1)->self_stream);
  auto off = c->voice_set_stream(1, 10, false);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->self_stream);
  // Moving to another channel starts a stay that is not live.
  c->voice_set_stream(1, 10, true);
  auto moved = c->voice_join(vs(1, 20), 0);
  ASSERT_TRUE(moved.previous);
  EXPECT_TRUE(moved.previous->self_stream);
  EXPECT_FALSE(moved.state.self_stream);
  EXPECT_FALSE(c->voice_state(1)->self_stream);
  // Leaving ends it: the next stay in the same channel starts not live.
  c->voice_set_stream(1, 20, true);
  auto left = c->voice_leave(1, 20);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->self_stream);
  EXPECT_FALSE(c->voice_join(vs(1, 20), 0).state.self_stream);
  EXPECT_FALSE(c->voice_set_stream(2, 20, true)) << "another user";
}
