// cluster::EventLog on a Redis Stream, against a real redis-server: every field round trips,
// groups are independent, an entry read and not acknowledged is delivered again (to the same
// consumer, and to another consumer once the first has been idle past claim_idle), ack ends
// delivery, undecodable entries are skipped, and Redis down is an error, not a hang.
#include "cluster/redis_event_log.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <limits>
#include <stdexcept>
#include <thread>

#include "unit/cluster/redis_fixture.hpp"

namespace hype::cluster {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class RedisLog : public test::RedisFixture {
 protected:
  void SetUp() override {
    RedisFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    RedisOptions o;
    o.port = server.port();
    o.min_backoff = 20ms;
    o.max_backoff = 100ms;
    o.command_timeout = 2s;
    client = std::make_unique<RedisClient>(io.get_executor(), o);
    client->start();
    for (int i = 0; i < 500 && !client->connected(); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(client->connected());
  }
  void TearDown() override {
    client.reset();
    RedisFixture::TearDown();
  }
  std::unique_ptr<EventLog> log(const std::string& consumer, std::chrono::milliseconds idle = 60s) {
    return make_redis_event_log(*client, {.consumer = consumer, .claim_idle = idle});
  }
  RedisReply raw(std::vector<std::string> args) {
    return asio::co_spawn(
               io, [this, a = std::move(args)]() mutable { return client->command(std::move(a)); },
               asio::use_future)
        .get();
  }

  std::unique_ptr<RedisClient> client;
};

VoiceEvent sample(Id id) {
  return {.id = id,
          .type = VoiceEventType::leave,
          .guild_id = 11,
          .channel_id = 22,
          .user_id = 33,
          .at = 1'764'900'000'123,
          .duration_ms = 45'000,
          .mode = "sfu",
          .node_id = "node-\xc3\xa9 \r\n",
          .guild_users = 7};
}

TEST_F(RedisLog, EveryFieldAndTypeRoundTrips) {
  auto l = log("node-1");
  Id id = 1000;
  for (auto t :
       {VoiceEventType::join, VoiceEventType::leave, VoiceEventType::mode_switch,
        VoiceEventType::stream_start, VoiceEventType::stream_stop, VoiceEventType::sfu_node_lost}) {
    auto e = sample(++id);
    e.type = t;
    l->append(e);
  }
  auto got = l->read("analytics", 100);
  ASSERT_EQ(got.size(), 6u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    auto want = sample(static_cast<Id>(1001 + i));
    EXPECT_EQ(got[i].id, want.id);
    EXPECT_EQ(got[i].guild_id, 11u);
    EXPECT_EQ(got[i].channel_id, 22u);
    EXPECT_EQ(got[i].user_id, 33u);
    EXPECT_EQ(got[i].at, want.at);
    EXPECT_EQ(got[i].duration_ms, 45'000);
    EXPECT_EQ(got[i].mode, "sfu");
    EXPECT_EQ(got[i].node_id, want.node_id);
    EXPECT_EQ(got[i].guild_users, 7);
  }
  EXPECT_EQ(got[0].type, VoiceEventType::join);
  EXPECT_EQ(got[5].type, VoiceEventType::sfu_node_lost);
}

TEST_F(RedisLog, EdgeValuesAndBinaryStringsRoundTrip) {
  auto l = log("node-1");
  VoiceEvent e{.id = std::numeric_limits<Id>::max(),
               .type = VoiceEventType::sfu_node_lost,
               .at = -1,
               .duration_ms = std::numeric_limits<std::int64_t>::min(),
               .mode = std::string("p\0\xff", 3),
               .node_id = std::string("\0\0n\0", 4)};  // guild_users stays -1 (unknown)
  VoiceEvent empty{.id = 1, .type = VoiceEventType::mode_switch};
  l->append(e);
  l->append(empty);
  auto got = l->read("analytics", 10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, e.id);
  EXPECT_EQ(got[0].type, VoiceEventType::sfu_node_lost);
  EXPECT_EQ(got[0].guild_id, 0);
  EXPECT_EQ(got[0].channel_id, 0);
  EXPECT_EQ(got[0].user_id, 0);
  EXPECT_EQ(got[0].at, -1);
  EXPECT_EQ(got[0].duration_ms, e.duration_ms);
  EXPECT_EQ(got[0].mode, e.mode);
  EXPECT_EQ(got[0].node_id, e.node_id);
  EXPECT_EQ(got[0].guild_users, -1);
  EXPECT_EQ(got[1].type, VoiceEventType::mode_switch);
  EXPECT_EQ(got[1].mode, "");
  EXPECT_EQ(got[1].node_id, "");
}

TEST_F(RedisLog, GroupsAreIndependentAndAckEndsDelivery) {
  auto l = log("node-1");
  for (Id id = 1; id <= 5; ++id) l->append(sample(id));
  auto a = l->read("analytics", 3);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(l->read("audit", 10).size(), 5u);  // another group sees everything
  // Not acknowledged: the same three come again (own pending), then the other two.
  auto again = l->read("analytics", 10);
  ASSERT_EQ(again.size(), 5u);
  EXPECT_EQ(again[0].id, a[0].id);
  l->ack("analytics", {1, 2, 3, 4, 5, 999});  // 999 was never read: ignored
  EXPECT_TRUE(l->read("analytics", 10).empty());
  l->append(sample(6));
  auto next = l->read("analytics", 10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, 6u);
}

TEST_F(RedisLog, ADeadConsumersEntriesAreClaimedAfterTheIdleTime) {
  auto dead = log("node-1", 200ms);
  auto alive = log("node-2", 200ms);
  for (Id id = 1; id <= 3; ++id) dead->append(sample(id));
  ASSERT_EQ(dead->read("analytics", 10).size(), 3u);  // read, then "killed" before ack
  EXPECT_TRUE(alive->read("analytics", 10).empty());  // still the first consumer's
  std::this_thread::sleep_for(400ms);
  auto claimed = alive->read("analytics", 10);
  ASSERT_EQ(claimed.size(), 3u);
  alive->ack("analytics", {claimed[0].id, claimed[1].id, claimed[2].id});
  std::this_thread::sleep_for(400ms);
  EXPECT_TRUE(alive->read("analytics", 10).empty());
  auto pending = raw({"XPENDING", "hype:events:voice", "analytics"});
  EXPECT_EQ(pending.elements.at(0).integer, 0);
}

// XAUTOCLAIM scans at most 10 * COUNT pending entries per call: with many entries of a live
// consumer ahead of a dead one's, the claim goes on from where the previous scan stopped.
TEST_F(RedisLog, ADeadConsumersEntriesBehindManyLiveOnesAreStillClaimed) {
  auto live = log("live", 1s);
  auto dead = log("dead", 1s);
  auto thief = log("thief", 1s);
  for (Id id = 1; id <= 61; ++id) live->append(sample(id));
  ASSERT_EQ(live->read("analytics", 60).size(), 60u);
  ASSERT_EQ(dead->read("analytics", 10).size(), 1u);  // id 61, then "killed"
  std::this_thread::sleep_for(1300ms);
  ASSERT_EQ(live->read("analytics", 60).size(), 60u);  // delivered again: no longer idle
  std::vector<Id> got;
  for (int i = 0; i < 3 && got.empty(); ++i)
    for (auto& e : thief->read("analytics", 1)) got.push_back(e.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], 61);
}

// Blocking on the thread that must deliver the reply would wait forever: refused instead.
TEST_F(RedisLog, ACallOnTheClientsOwnThreadThrowsInsteadOfDeadlocking) {
  auto l = log("node-1");
  auto on = [&](const asio::any_io_executor& ex) {
    std::promise<std::string> p;
    asio::post(ex, [&] {
      try {
        l->append(sample(1));
        p.set_value("returned");
      } catch (const std::logic_error&) {
        p.set_value("logic_error");
      } catch (const std::exception& e) {
        p.set_value(e.what());
      }
    });
    return p.get_future().get();
  };
  EXPECT_EQ(on(io.get_executor()), "logic_error");
  EXPECT_EQ(on(client->executor()), "logic_error");
  l->append(sample(2));  // from this thread it works
  auto got = l->read("analytics", 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 2);
}

TEST_F(RedisLog, UndecodableEntriesAreSkippedAndAcknowledged) {
  auto l = log("node-1");
  raw({"XADD", "hype:events:voice", "*", "type", "join", "id", "not-a-number"});
  raw({"XADD", "hype:events:voice", "*", "odd"});
  l->append(sample(7));
  auto got = l->read("analytics", 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 7u);
  l->ack("analytics", {7});
  EXPECT_TRUE(l->read("analytics", 10).empty());
}

// The restarted server has lost the stream and its groups (no persistence here, as after a
// Redis without AOF restarts): the group this object had created is created again.
TEST_F(RedisLog, RedisDownThrowsAndRecovers) {
  auto l = log("node-1");
  l->append(sample(1));
  ASSERT_EQ(l->read("analytics", 10).size(), 1u);
  server.stop();
  for (int i = 0; i < 500 && client->connected(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_THROW(l->append(sample(2)), RedisError);
  EXPECT_THROW(l->read("analytics", 10), RedisError);
  ASSERT_TRUE(server.start());  // a fresh, empty server (no persistence in the test)
  for (int i = 0; i < 500 && !client->connected(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(client->connected());
  l->append(sample(3));
  auto got = l->read("analytics", 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 3u);
  l->ack("analytics", {1, 3});
  EXPECT_TRUE(l->read("analytics", 10).empty());
}

}  // namespace
}  // namespace hype::cluster
