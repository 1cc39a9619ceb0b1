// cluster::EventBus on a bounded Redis stream (RedisEventBusOptions::stream), against a real
// redis-server: two nodes deliver every event, their own included, from the stream in one
// global order, each with its cursor; replay returns what came after a cursor; a cursor
// older than the trimmed history, unknown or malformed replays nothing (nullopt); a reader
// that lost Redis for a while reads on from where it was and misses nothing still kept;
// events published while Redis is down or frozen wait and arrive once, in order, when it is
// back; an event added twice (a retry whose reply was lost) is delivered once; after Redis
// restarted empty, cursors of the old stream are not replayable.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "cluster/redis_event_bus.hpp"
#include "cluster/wait.hpp"
#include "unit/cluster/redis_fixture.hpp"

namespace hype::cluster {
namespace {

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

class RedisEventStreamTest : public test::RedisFixture {
 protected:
  void SetUp() override {
    RedisFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (int i = 0; i < 5; ++i) clients.push_back(started_client());
    ASSERT_TRUE(eventually([&] {
      for (auto& c : clients)
        if (!c->connected()) return false;
      return true;
    }));
    make_buses(10'000);
  }
  void TearDown() override {
    a.reset();
    b.reset();
    clients.clear();
    RedisFixture::TearDown();
  }

  void make_buses(std::size_t max_len) {
    RedisEventBusOptions o;
    o.stream = "hype:{bus}:stream";
    o.stream_max_len = max_len;
    o.read_block_ms = 200;
    a = make_redis_event_bus(*clients[0], *clients[1], "node-a", o);
    b = make_redis_event_bus(*clients[2], *clients[3], "node-b", o);
    a->subscribe([this](const Event& e) { seen_a.add(e); });
    b->subscribe([this](const Event& e) { seen_b.add(e); });
    // Both readers know where the stream ends: what is published now reaches them.
    ASSERT_TRUE(eventually([&] { return !a->position().empty() && !b->position().empty(); }));
  }

  static Event event(int i) {
    Event e;
    e.type = EventType::message_create;
    e.guild_id = 7;
    e.data = std::to_string(i);
    return e;
  }

  // replay() made synchronous.
  static std::optional<std::vector<Event>> replay(EventBus& bus, std::string after,
                                                  std::string until) {
    std::promise<std::optional<std::vector<Event>>> p;
    auto f = p.get_future();
    bus.replay(std::move(after), std::move(until),
               [&p](std::optional<std::vector<Event>> r) { p.set_value(std::move(r)); });
    if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return std::nullopt;
    return f.get();
  }

  std::vector<std::unique_ptr<RedisClient>> clients;  // a pub, a sub, b pub, b sub, raw
  std::unique_ptr<RedisEventBus> a, b;
  Seen seen_a, seen_b;
};

TEST_F(RedisEventStreamTest, BothNodesDeliverEveryEventInOneOrderWithCursors) {
  constexpr int kEach = 300;
  std::thread ta([&] {
    for (int i = 0; i < kEach; ++i) a->publish(event(i));
  });
  std::thread tb([&] {
    for (int i = 0; i < kEach; ++i) b->publish(event(10'000 + i));
  });
  ta.join();
  tb.join();
  ASSERT_TRUE(eventually([&] { return seen_a.size() == 2 * kEach && seen_b.size() == 2 * kEach; }))
      << seen_a.size() << " " << seen_b.size();
  auto got_a = seen_a.copy();
  auto got_b = seen_b.copy();
  int next_a = 0, next_b = 10'000;
  for (std::size_t i = 0; i < got_a.size(); ++i) {
    // One global order: the same sequence, with the same cursors, on both nodes.
    ASSERT_EQ(got_a[i].data, got_b[i].data) << i;
    ASSERT_EQ(got_a[i].cursor, got_b[i].cursor) << i;
    ASSERT_FALSE(got_a[i].cursor.empty());
    if (i > 0) {
      ASSERT_EQ(compare_cursors(got_a[i - 1].cursor, got_a[i].cursor), -1);
    }
    // Each publisher's own order is kept.
    int v = std::stoi(got_a[i].data);
    if (v < 10'000) {
      ASSERT_EQ(v, next_a++);
    } else {
      ASSERT_EQ(v, next_b++);
    }
  }
  EXPECT_EQ(a->position(), got_a.back().cursor);
  EXPECT_EQ(a->stats().gaps, 0u);
  EXPECT_EQ(a->stats().own_skipped, 0u);
  EXPECT_EQ(a->stats().received, 2u * kEach);
}

TEST_F(RedisEventStreamTest, ReplayReturnsWhatCameAfterACursor) {
  for (int i = 0; i < 50; ++i) a->publish(event(i));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 50; }));
  auto got = seen_b.copy();
  std::string until = b->position();
  auto r = replay(*b, got[9].cursor, until);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 40u) << "exclusive of the cursor, inclusive of until";
  for (std::size_t i = 0; i < r->size(); ++i) {
    EXPECT_EQ((*r)[i].data, std::to_string(10 + i));
    EXPECT_EQ((*r)[i].cursor, got[10 + i].cursor);
  }
  auto part = replay(*b, got[9].cursor, got[19].cursor);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->size(), 10u);
  auto none = replay(*b, until, until);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // A client ahead of this node (it saw an event the node has not delivered yet): nothing to
  // replay, and not an error.
  auto ahead = replay(*b, until, got[30].cursor);
  ASSERT_TRUE(ahead);
  EXPECT_TRUE(ahead->empty());
}

TEST_F(RedisEventStreamTest, TrimmedUnknownOrMalformedCursorsReplayNothing) {
  a.reset();
  b.reset();
  seen_a.events.clear();
  seen_b.events.clear();
  make_buses(10);  // MAXLEN ~ 10: Redis trims whole nodes (100 entries) at a time
  for (int i = 0; i < 1000; ++i) a->publish(event(i));
  // A reader that falls more than the cap behind loses entries (counted as gaps): wait for
  // the last one rather than for all.
  ASSERT_TRUE(eventually([&] {
    auto g = seen_b.copy();
    return !g.empty() && g.back().data == "999";
  }));
  auto got = seen_b.copy();
  ASSERT_GE(got.size(), 10u);
  std::string until = b->position();
  EXPECT_FALSE(replay(*b, got[0].cursor, until)) << "trimmed long ago";
  EXPECT_FALSE(replay(*b, "99999999999999-0", until)) << "newer than anything added";
  EXPECT_FALSE(replay(*b, "garbage", until));
  EXPECT_FALSE(replay(*b, "", until));
  auto recent = replay(*b, got[got.size() - 5].cursor, until);
  ASSERT_TRUE(recent) << "the newest entries are kept";
  ASSERT_EQ(recent->size(), 4u);
  EXPECT_EQ(recent->back().data, "999");
}

TEST_F(RedisEventStreamTest, AReaderThatLostRedisReadsOnFromWhereItWas) {
  a->publish(event(0));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 1; }));
  // B's reader connection drops (Redis kills it); A's events meanwhile stay in the stream.
  std::vector<std::string> who{"CLIENT", "ID"};
  long long reader = wait(clients[3]->command(std::move(who))).integer;
  for (int i = 1; i <= 20; ++i) a->publish(event(i));
  std::vector<std::string> kill{"CLIENT", "KILL", "ID", std::to_string(reader)};
  EXPECT_EQ(wait(clients[4]->command(std::move(kill))).integer, 1);
  for (int i = 21; i <= 40; ++i) a->publish(event(i));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 41 && seen_a.size() == 41; }))
      << seen_b.size() << " " << seen_a.size();
  auto got = seen_b.copy();
  for (int i = 0; i <= 40; ++i) ASSERT_EQ(got[i].data, std::to_string(i));
}

// Redis killed (its data gone) and started again on the same port: events A published while it
// was down reach both nodes once it is back, once each, in order; cursors of the old stream
// are no longer replayable (the new stream starts with a genesis entry newer than them), new
// ones are.
TEST_F(RedisEventStreamTest, EventsPublishedWhileRedisIsDownArriveWhenItIsBack) {
  for (int i = 0; i < 5; ++i) a->publish(event(i));
  ASSERT_TRUE(eventually([&] { return seen_a.size() == 5 && seen_b.size() == 5; }));
  std::string old_cursor = seen_b.copy()[1].cursor;
  std::string old_position = b->position();
  server.stop();
  for (int i = 5; i < 60; ++i) a->publish(event(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // sends fail meanwhile
  EXPECT_EQ(seen_a.size(), 5u) << "nothing is delivered while Redis is away, here either";
  ASSERT_TRUE(server.start());
  ASSERT_TRUE(eventually([&] { return seen_a.size() == 60 && seen_b.size() == 60; }))
      << seen_a.size() << " " << seen_b.size();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (Seen* seen : {&seen_a, &seen_b}) {
    auto got = seen->copy();
    ASSERT_EQ(got.size(), 60u) << "each once";
    for (int i = 0; i < 60; ++i) EXPECT_EQ(got[i].data, std::to_string(i));
  }
  EXPECT_GT(a->stats().publish_retried, 0u);
  EXPECT_EQ(a->stats().publish_failed, 0u);
  EXPECT_EQ(b->stats().gaps, 0u);
  std::string until = b->position();
  EXPECT_FALSE(replay(*b, old_cursor, until)) << "the stream it points into is gone";
  EXPECT_FALSE(replay(*b, old_position, until));
  auto got = seen_b.copy();
  auto recent = replay(*b, got[40].cursor, until);
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 19u);
  EXPECT_EQ(recent->front().data, "41");
}

// A batch whose reply never came (Redis frozen past the command timeout) is sent again; if
// Redis had added it, it is in the stream twice. Made here by adding a record again by hand:
// every node delivers it once, and so does a replay.
TEST_F(RedisEventStreamTest, AnEventAddedTwiceIsDeliveredOnce) {
  a->publish(event(0));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 1; }));
  std::string before = b->position();
  // Add the next record of A twice, as a retry after a lost reply would.
  a->publish(event(1));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 2; }));
  std::vector<std::string> range{"XRANGE", "hype:{bus}:stream", "(" + before, "+"};
  auto entries = wait(clients[4]->command(std::move(range)));
  ASSERT_EQ(entries.elements.size(), 1u);
  const auto& fields = entries.elements[0].elements[1].elements;
  ASSERT_EQ(fields[0].str, "r");
  std::vector<std::string> again{"XADD", "hype:{bus}:stream", "*", "r", fields[1].str};
  wait(clients[4]->command(std::move(again)));
  a->publish(event(2));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 3 && seen_a.size() == 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (Seen* seen : {&seen_a, &seen_b}) {
    auto got = seen->copy();
    ASSERT_EQ(got.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i].data, std::to_string(i));
  }
  EXPECT_EQ(b->stats().duplicates, 1u);
  auto r = replay(*b, before, b->position());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u) << "a replay drops the copy too";
  EXPECT_EQ((*r)[0].data, "1");
  EXPECT_EQ((*r)[1].data, "2");
}

// A client standing where this node stands has nothing to replay: answered without Redis, so
// an identify keeps working while Redis is down.
TEST_F(RedisEventStreamTest, NothingToReplayNeedsNoRedis) {
  a->publish(event(0));
  ASSERT_TRUE(eventually([&] { return seen_b.size() == 1; }));
  std::string here = b->position();
  server.stop();
  auto r = replay(*b, here, here);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_FALSE(replay(*b, seen_b.copy()[0].cursor, "99999999999999-0"))
      << "a replay that needs Redis fails while it is down";
}

// A node's /readyz waits for its reader to know where the stream ends (EventBus::ready()):
// before, an identify could not be given a cursor.
TEST_F(RedisEventStreamTest, NotReadyUntilTheReaderKnowsWhereTheStreamEnds) {
  EXPECT_TRUE(a->ready());
  a.reset();
  server.stop();
  RedisEventBusOptions o;
  o.stream = "hype:{bus}:stream";
  o.read_block_ms = 200;
  a = make_redis_event_bus(*clients[0], *clients[1], "node-a", o);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(a->ready()) << "Redis is down: the reader cannot know";
  EXPECT_TRUE(a->position().empty());
  ASSERT_TRUE(server.start());
  EXPECT_TRUE(eventually([&] { return a->ready(); }));
}

}  // namespace
}  // namespace hype::cluster
