// cluster::Coordinator on Redis, against a real redis-server. The same voice, presence and
// rate-limit behaviour as the in-process backend (each case runs against both), then what only
// a shared backend does: two nodes see one state, a user limit holds against racing joins from
// two nodes, a rate budget holds across nodes, a dead node's sessions stop counting, and Redis
// down degrades as documented (voice throws, budgets per node, presence "unknown") and recovers
// by itself.
#include "cluster/redis_coordinator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "unit/cluster/redis_fixture.hpp"

namespace hype::cluster {
namespace {

using namespace std::chrono_literals;

VoiceState vs(Id user, Id channel, Id guild = 1) {
  VoiceState s;
  s.user_id = user;
  s.channel_id = channel;
  s.guild_id = guild;
  s.joined_at = 1700000000000 + user;
  s.session = 0xF000000000000000ULL + static_cast<std::uint64_t>(user);  // past 2^53
  return s;
}

class RedisCoordinatorTest : public test::RedisFixture, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    if (!GetParam()) {  // the in-process backend: no Redis
      a = make_local_coordinator();
      return;
    }
    RedisFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (int i = 0; i < 2; ++i) clients.push_back(started_client());
    ASSERT_TRUE(eventually([&] { return clients[0]->connected() && clients[1]->connected(); }));
    a = make_redis_coordinator(*clients[0], {"node-a", 400ms});
    b = make_redis_coordinator(*clients[1], {"node-b", 400ms});
  }
  void TearDown() override {
    a.reset();
    b.reset();
    clients.clear();
    if (GetParam()) RedisFixture::TearDown();
  }
  bool redis() const { return GetParam(); }

  std::vector<std::unique_ptr<RedisClient>> clients;
  std::unique_ptr<Coordinator> a, b;
};

TEST_P(RedisCoordinatorTest, VoiceJoinMovesBetweenChannels) {
  auto r = a->voice_join(vs(1, 10), 0);
  EXPECT_FALSE(r.full);
  EXPECT_FALSE(r.previous);
  EXPECT_EQ(r.count, 1);
  EXPECT_EQ(r.state.session, vs(1, 10).session) << "64-bit session kept exactly";
  a->voice_join(vs(2, 10), 0);
  auto moved = a->voice_join(vs(1, 20, 2), 0);
  ASSERT_TRUE(moved.previous);
  EXPECT_EQ(moved.previous->channel_id, 10);
  EXPECT_EQ(moved.previous->guild_id, 1);
  EXPECT_EQ(moved.count, 1);
  EXPECT_EQ(a->channel_voice_states(10).size(), 1u);
  EXPECT_EQ(a->channel_voice_states(20).size(), 1u);
  EXPECT_EQ(a->guild_voice_states(1).size(), 1u);
  EXPECT_EQ(a->guild_voice_states(2).size(), 1u);
  EXPECT_EQ(a->active_voice_channels(), 2);
  EXPECT_EQ(a->active_voice_users(), 2);
}

TEST_P(RedisCoordinatorTest, RejoinKeepsTheStayAndUserLimitHolds) {
  auto first = a->voice_join(vs(1, 10), 2);
  EXPECT_FALSE(a->voice_join(vs(2, 10), 2).full);
  auto full = a->voice_join(vs(3, 10), 2);
  EXPECT_TRUE(full.full);
  EXPECT_EQ(full.count, 2);
  EXPECT_FALSE(a->voice_state(3));
  a->voice_set_stream(1, 10, true);
  VoiceState again = vs(1, 10);
  again.session = 7;
  again.joined_at = 5;
  again.self_mute = true;
  auto r = a->voice_join(again, 2);
  EXPECT_FALSE(r.full) << "rejoining one's own channel is never full";
  EXPECT_EQ(r.state.session, first.state.session);
  EXPECT_EQ(r.state.joined_at, first.state.joined_at);
  EXPECT_TRUE(r.state.self_stream);
  EXPECT_TRUE(r.state.self_mute);
}

TEST_P(RedisCoordinatorTest, LeaveUpdateSuppressStreamAndPresence) {
  a->voice_join(vs(1, 10), 0);
  EXPECT_FALSE(a->voice_leave(1, 11)) << "wrong channel";
  auto u = a->voice_update(1, true, false);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->self_mute);
  EXPECT_FALSE(u->self_deaf);
  auto s = a->voice_suppress(1, true);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->suppress);
  EXPECT_FALSE(a->voice_set_stream(1, 11, true)) << "another channel";
  EXPECT_TRUE(a->voice_set_stream(1, 10, true)->self_stream);
  EXPECT_FALSE(a->voice_update(2, true, true)) << "not in voice";
  auto left = a->voice_leave(1, 0);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->suppress);
  EXPECT_FALSE(a->voice_state(1));
  EXPECT_EQ(a->active_voice_channels(), 0);
  EXPECT_EQ(a->active_voice_users(), 0);
  EXPECT_TRUE(a->channel_voice_states(10).empty());

  EXPECT_EQ(a->presence_connect(5), 1);
  EXPECT_EQ(a->presence_connect(5), 2);
  EXPECT_TRUE(a->is_online(5));
  EXPECT_EQ(a->online({4, 5, 6}), std::vector<Id>{5});
  EXPECT_EQ(a->presence_disconnect(5), 1);
  EXPECT_EQ(a->presence_disconnect(5), 0);
  EXPECT_FALSE(a->is_online(5));
}

TEST_P(RedisCoordinatorTest, RateBucketsTakePeekAndForget) {
  RateBudget budget{3, 60};  // 3 per minute
  EXPECT_TRUE(a->peek("k", budget).allowed);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(a->take("k", budget).allowed) << i;
  auto no = a->take("k", budget);
  EXPECT_FALSE(no.allowed);
  EXPECT_GT(no.retry_after_s, 15);  // one token back takes ~20 s
  EXPECT_LE(no.retry_after_s, 20.5);
  EXPECT_FALSE(a->peek("k", budget).allowed);
  EXPECT_TRUE(a->take("other", budget).allowed) << "buckets are per key";
  a->forget("k");
  EXPECT_TRUE(a->take("k", budget).allowed);
}

INSTANTIATE_TEST_SUITE_P(Backends, RedisCoordinatorTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Redis" : "Local"; });

// Only the shared backend: two nodes.
class RedisOnlyCoordinatorTest : public RedisCoordinatorTest {};

TEST_P(RedisOnlyCoordinatorTest, TwoNodesShareOneState) {
  a->voice_join(vs(1, 10), 0);
  auto seen = b->voice_state(1);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->channel_id, 10);
  EXPECT_EQ(seen->session, vs(1, 10).session);
  auto moved = b->voice_join(vs(1, 20), 0);
  ASSERT_TRUE(moved.previous);
  EXPECT_EQ(moved.previous->channel_id, 10);
  EXPECT_TRUE(a->channel_voice_states(10).empty());
  // Presence counts sessions on both nodes.
  EXPECT_EQ(a->presence_connect(7), 1);
  EXPECT_EQ(b->presence_connect(7), 2);
  EXPECT_EQ(a->presence_disconnect(7), 1);
  EXPECT_TRUE(b->is_online(7));
  // A budget holds across nodes, not per node.
  RateBudget budget{4, 60};
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += (i % 2 ? a : b)->take("login:x", budget).allowed;
  EXPECT_EQ(allowed, 4);
}

TEST_P(RedisOnlyCoordinatorTest, UserLimitHoldsAgainstRacingJoinsFromTwoNodes) {
  for (int round = 0; round < 10; ++round) {
    Id ch = 100 + round;
    std::vector<std::future<VoiceJoin>> joins;
    for (Id u = 1; u <= 8; ++u)
      joins.push_back(std::async(std::launch::async, [&, u] {
        return (u % 2 ? a : b)->voice_join(vs(1000 * round + u, ch), 5);
      }));
    int in = 0;
    for (auto& j : joins) in += !j.get().full;
    EXPECT_EQ(in, 5) << "round " << round;
    EXPECT_EQ(a->channel_voice_states(ch).size(), 5u);
  }
}

TEST_P(RedisOnlyCoordinatorTest, ADeadNodesSessionsStopCounting) {
  EXPECT_EQ(a->presence_connect(9), 1);
  EXPECT_EQ(b->presence_connect(9), 2);
  // b keeps alive, a goes silent (ttl 400 ms here).
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(100ms);
    wait(b->async_keepalive());
  }
  EXPECT_EQ(b->presence_disconnect(9), 0) << "a's session no longer counts";
  EXPECT_FALSE(b->is_online(9));
}

TEST_P(RedisOnlyCoordinatorTest, RedisDownDegradesAndRecovers) {
  a->voice_join(vs(1, 10), 0);
  RateBudget budget{2, 60};
  server.stop();
  for (int i = 0; i < 500 && clients[0]->connected(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_THROW(a->voice_join(vs(2, 10), 0), RedisError) << "a join cannot be decided";
  EXPECT_THROW(a->voice_state(1), RedisError);
  // Budgets fall back to this node's own buckets: still enforced, never an error.
  EXPECT_TRUE(a->take("k", budget).allowed);
  EXPECT_TRUE(a->take("k", budget).allowed);
  EXPECT_FALSE(a->take("k", budget).allowed);
  EXPECT_EQ(a->presence_connect(3), 1);
  EXPECT_FALSE(a->is_online(3)) << "unknown reads as offline, not as an error";
  ASSERT_TRUE(server.start());  // empty: the test server keeps nothing
  bool back = false;
  for (int i = 0; i < 500 && !back; ++i) {
    std::this_thread::sleep_for(10ms);
    back = clients[0]->connected();
  }
  ASSERT_TRUE(back);
  EXPECT_FALSE(a->voice_join(vs(2, 10), 0).full);
  EXPECT_EQ(a->channel_voice_states(10).size(), 1u);
}

// The store's generation: set by the first join, kept while the store lives, gone with a store
// that restarted empty (and a new one from the next join), so the SFU can tell "left" from
// "forgotten".
TEST_P(RedisOnlyCoordinatorTest, TheStoreGenerationTellsLeftFromForgotten) {
  a->voice_join(vs(1, 10), 0);
  auto first = wait(b->async_voice_lookup(1));
  ASSERT_TRUE(first.state);
  EXPECT_FALSE(first.generation.empty());
  a->voice_join(vs(2, 10), 0);
  a->voice_leave(1, 0);
  auto left = wait(b->async_voice_lookup(1));
  EXPECT_FALSE(left.state);
  EXPECT_EQ(left.generation, first.generation) << "a leave: same store";
  server.stop();
  ASSERT_TRUE(server.start());  // empty
  bool back = false;
  for (int i = 0; i < 500 && !back; ++i) {
    std::this_thread::sleep_for(10ms);
    back = clients[0]->connected() && clients[1]->connected();
  }
  ASSERT_TRUE(back);
  auto forgotten = wait(b->async_voice_lookup(2));
  EXPECT_FALSE(forgotten.state);
  EXPECT_NE(forgotten.generation, first.generation) << "the store forgot: another generation";
  a->voice_join(vs(2, 10), 0);
  auto again = wait(b->async_voice_lookup(2));
  ASSERT_TRUE(again.state);
  EXPECT_FALSE(again.generation.empty());
  EXPECT_NE(again.generation, first.generation);
  // In process: no generation.
  auto local = make_local_coordinator();
  local->voice_join(vs(1, 10), 0);
  EXPECT_EQ(wait(local->async_voice_lookup(1)).generation, "");
  EXPECT_TRUE(wait(local->async_voice_lookup(1)).state);
}

INSTANTIATE_TEST_SUITE_P(Redis, RedisOnlyCoordinatorTest, ::testing::Values(true),
                         [](const auto&) { return "Redis"; });

}  // namespace
}  // namespace hype::cluster
