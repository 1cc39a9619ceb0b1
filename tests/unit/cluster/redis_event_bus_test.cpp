// cluster::EventBus on Redis pub/sub, against a real redis-server: two nodes (two buses, each
// with its own publisher and subscriber clients) on one Redis. An event reaches the other
// node with every field intact and its own node's subscribers exactly once, in order; a
// record that does not decode is counted and skipped; with Redis down publish still delivers
// locally (and counts what it could not send), and once Redis is back delivery across nodes
// resumes by itself, the missed events showing in the gap counter.
#include "cluster/redis_event_bus.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "cluster/wait.hpp"
#include "unit/cluster/redis_fixture.hpp"

namespace hype::cluster {
namespace {

using namespace std::chrono_literals;

// What one node's subscriber saw (handlers run on other threads).
struct Seen {
  std::mutex mu;
  std::vector<Event> events;
  void add(const Event& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return events.size();
  }
  std::vector<Event> copy() {
    std::lock_guard lock(mu);
    return events;
  }
};

class RedisEventBusTest : public test::RedisFixture {
 protected:
  void SetUp() override {
    RedisFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (int i = 0; i < 5; ++i) clients.push_back(started_client());
    ASSERT_TRUE(all_connected());
    a = make_redis_event_bus(*clients[0], *clients[1], "node-a");
    b = make_redis_event_bus(*clients[2], *clients[3], "node-b");
    a->subscribe([this](const Event& e) { seen_a.add(e); });
    b->subscribe([this](const Event& e) { seen_b.add(e); });
    ASSERT_TRUE(both_subscribed());
  }
  void TearDown() override {
    a.reset();
    b.reset();
    clients.clear();
    RedisFixture::TearDown();
  }

  bool all_connected() {
    return eventually([&] {
      for (auto& c : clients)
        if (!c->connected()) return false;
      return true;
    });
  }
  // Both buses' SUBSCRIBE reached Redis (before that, a PUBLISH reaches nobody).
  bool both_subscribed() {
    return eventually([&] {
      try {
        std::vector<std::string> args{"PUBSUB", "NUMSUB", "hype:{bus}:events"};
        RedisReply r = wait(raw().command(std::move(args)));
        return r.elements.size() == 2 && r.elements[1].integer == 2;
      } catch (const RedisError&) {
        return false;
      }
    });
  }
  RedisClient& raw() { return *clients[4]; }

  static Event event(int i) {
    Event e;
    e.type = EventType::message_create;
    e.guild_id = 7;
    e.channel_id = 8;
    e.data = std::to_string(i);
    return e;
  }

  std::vector<std::unique_ptr<RedisClient>> clients;  // a pub, a sub, b pub, b sub, raw
  std::unique_ptr<RedisEventBus> a, b;
  Seen seen_a, seen_b;
};

TEST_F(RedisEventBusTest, EveryFieldCrossesAndTheOriginDeliversOnce) {
  Event e;
  e.type = EventType::guild_create;
  e.guild_id = 1234567890123456789;
  e.required_permissions = 0xFFFFFFFFFFFFFFFFull;
  e.user_ids = {1, 300, 9007199254740993, 0};
  // UTF-8 (an accent, an emoji), a NUL and bytes that are not UTF-8.
  const char bytes[] = "{\"content\":\"h\xC3\xA9llo \xF0\x9F\x8E\xA7\"}\0\x01\xFF\x80 end";
  e.data = std::string(bytes, sizeof(bytes) - 1);
  e.subject_user_id = 42;
  e.channel_id = 4242;
  e.subject_permissions = 1ull << 40;
  a->publish(e);
  ASSERT_EQ(seen_a.size(), 1u) << "delivered locally at once, on the caller's thread";
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 1; }));
  Event got = seen_b.copy()[0];
  EXPECT_EQ(got.type, e.type);
  EXPECT_EQ(got.guild_id, e.guild_id);
  EXPECT_EQ(got.required_permissions, e.required_permissions);
  EXPECT_EQ(got.user_ids, e.user_ids);
  EXPECT_EQ(got.data, e.data);
  EXPECT_EQ(got.data.size(), 33u);
  EXPECT_EQ(got.subject_user_id, e.subject_user_id);
  EXPECT_EQ(got.channel_id, e.channel_id);
  EXPECT_EQ(got.subject_permissions, e.subject_permissions);
  // A's own record came back from Redis and was skipped.
  ASSERT_TRUE(eventually([&] { return a->stats().own_skipped == 1; }));
  EXPECT_EQ(seen_a.size(), 1u);
  EXPECT_EQ(a->stats().published, 1u);
  EXPECT_EQ(a->stats().received, 0u);
  EXPECT_EQ(b->stats().received, 1u);
  EXPECT_EQ(b->stats().gaps, 0u);
  // And the other way.
  b->publish(event(5));
  ASSERT_TRUE(eventually([&] { return seen_a.size() == 2; }));
  EXPECT_EQ(seen_a.copy()[1].data, "5");
  EXPECT_EQ(seen_b.size(), 2u);
}

TEST_F(RedisEventBusTest, ThousandEventsArriveInOrder) {
  constexpr int kN = 1000;
  for (int i = 0; i < kN; ++i) a->publish(event(i));
  EXPECT_EQ(seen_a.size(), static_cast<std::size_t>(kN));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == kN; })) << seen_b.size();
  auto got = seen_b.copy();
  for (int i = 0; i < kN; ++i) ASSERT_EQ(got[i].data, std::to_string(i)) << i;
  EXPECT_EQ(b->stats().gaps, 0u);
  ASSERT_TRUE(eventually([&] { return a->stats().own_skipped == kN; }));
  EXPECT_EQ(a->stats().published, static_cast<std::uint64_t>(kN));
  EXPECT_EQ(a->stats().publish_failed, 0u);
  EXPECT_EQ(seen_a.size(), static_cast<std::size_t>(kN)) << "none delivered twice";
}

TEST_F(RedisEventBusTest, EventsFromManyThreadsKeepEachThreadsOrder) {
  constexpr int kThreads = 4, kEach = 200;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Event e = event(i);
        e.channel_id = t;
        a->publish(e);
      }
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(eventually([&] { return seen_b.size() == kThreads * kEach; }));
  std::vector<int> next(kThreads, 0);
  for (const Event& e : seen_b.copy()) {
    ASSERT_EQ(e.data, std::to_string(next[e.channel_id])) << "thread " << e.channel_id;
    ++next[e.channel_id];
  }
  EXPECT_EQ(b->stats().gaps, 0u);
}

TEST_F(RedisEventBusTest, GarbageIsCountedAndSkipped) {
  a->publish(event(1));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 1; }));
  for (const std::string& junk : {std::string("garbage"), std::string(), std::string("HB\x01", 3),
                                  std::string("HB\x01\x06node-a\x01\x02\x0EMESSAGE_CREATE", 27)}) {
    std::vector<std::string> args{"PUBLISH", "hype:{bus}:events", junk};
    EXPECT_EQ(wait(raw().command(std::move(args))).integer, 2);
  }
  a->publish(event(2));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 2; }));
  EXPECT_EQ(seen_b.copy()[1].data, "2");
  EXPECT_EQ(b->stats().undecodable, 4u);
  EXPECT_EQ(b->stats().gaps, 0u);
  ASSERT_TRUE(eventually([&] { return a->stats().undecodable == 4; }));
  EXPECT_EQ(seen_a.size(), 2u);
}

TEST_F(RedisEventBusTest, RedisDownDeliversLocallyAndResumesByItself) {
  a->publish(event(0));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 1; }));
  server.stop();
  ASSERT_TRUE(eventually([&] { return !clients[0]->connected() && !clients[3]->connected(); }));
  for (int i = 1; i <= 3; ++i) a->publish(event(i));
  EXPECT_EQ(seen_a.size(), 4u) << "a single node keeps working";
  ASSERT_TRUE(eventually([&] { return a->stats().publish_failed == 3; }));
  EXPECT_EQ(seen_b.size(), 1u);

  ASSERT_TRUE(server.start());
  ASSERT_TRUE(all_connected());
  ASSERT_TRUE(both_subscribed()) << "the subscribers subscribe again by themselves";
  a->publish(event(4));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 2; }));
  EXPECT_EQ(seen_b.copy()[1].data, "4");
  EXPECT_EQ(b->stats().gaps, 3u) << "the three events published while Redis was down";
  EXPECT_EQ(a->stats().published, 2u);
  b->publish(event(5));
  ASSERT_TRUE(eventually([&] { return seen_a.size() == 6; }));
  EXPECT_EQ(a->stats().gaps, 0u);
}

TEST_F(RedisEventBusTest, UnsubscribedHandlersHearNothing) {
  Seen extra;
  int id = b->subscribe([&](const Event& e) { extra.add(e); });
  a->publish(event(1));
  ASSERT_TRUE(eventually([&] { return extra.size() == 1 && seen_b.size() == 1; }));
  b->unsubscribe(id);
  a->publish(event(2));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 2; }));
  EXPECT_EQ(extra.size(), 1u);
}

}  // namespace
}  // namespace hype::cluster
