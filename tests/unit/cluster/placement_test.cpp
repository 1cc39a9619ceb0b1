#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "cluster/placement.hpp"

using namespace hype;
using namespace hype::cluster;
namespace asio = boost::asio;

TEST(LocalPlacement, NoSfuNodeMeansNoPlacement) {
  auto p = make_local_placement();
  EXPECT_FALSE(p->place(10));
  EXPECT_FALSE(p->lookup(10));
  EXPECT_FALSE(p->release(10, 1));
}

TEST(LocalPlacement, PlaceIsIdempotentAndReleaseIsCompareAndSet) {
  auto p = make_local_placement();
  p->announce({"node-0", "ws://a/voice", ""});
  auto first = p->place(10);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->channel_id, 10);
  EXPECT_EQ(first->node.id, "node-0");
  EXPECT_EQ(first->node.url, "ws://a/voice");
  auto again = p->place(10);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->epoch, first->epoch) << "an existing placement is kept";
  auto seen = p->lookup(10);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->epoch, first->epoch);

  EXPECT_FALSE(p->release(10, first->epoch + 1)) << "a different epoch must not release it";
  EXPECT_TRUE(p->lookup(10));
  EXPECT_TRUE(p->release(10, first->epoch));
  EXPECT_FALSE(p->lookup(10));
  EXPECT_FALSE(p->release(10, first->epoch)) << "releasing twice is harmless";

  auto next = p->place(10);
  ASSERT_TRUE(next);
  EXPECT_GT(next->epoch, first->epoch) << "a new decision has a newer epoch";
  // A stale holder of the old epoch (a node back from the dead) cannot drop the new one.
  EXPECT_FALSE(p->release(10, first->epoch));
  EXPECT_TRUE(p->lookup(10));
}

TEST(LocalPlacement, WithdrawnNodeLosesItsChannelsAndReannounceUpdates) {
  auto p = make_local_placement();
  p->announce({"a", "ws://a/voice", "eu"});
  p->announce({"b", "ws://b/voice", "us"});
  auto eu = p->place(1, std::string("eu"));
  auto us = p->place(2, std::string("us"));
  auto any = p->place(3);
  ASSERT_TRUE(eu && us && any);
  EXPECT_EQ(eu->node.id, "a");
  EXPECT_EQ(us->node.id, "b") << "region preferred";
  EXPECT_EQ(p->place(2, std::string("eu"))->node.id, "b") << "placed channels stay put";

  p->announce({"a", "ws://a2/voice", "eu"});
  EXPECT_EQ(p->place(1)->node.url, "ws://a2/voice") << "a re-announced node's new url";
  EXPECT_EQ(p->place(1)->epoch, eu->epoch);

  p->withdraw("a");
  EXPECT_FALSE(p->lookup(1));
  auto moved = p->place(1, std::string("eu"));
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->node.id, "b") << "re-placed on what is left";
  EXPECT_GT(moved->epoch, eu->epoch);
  EXPECT_EQ(p->lookup(2)->node.id, "b");
}

TEST(LocalPlacement, AwaitedOnTheEventLoop) {
  auto p = make_local_placement();
  asio::io_context io;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        SfuNode n;  // named: g++ 12 mishandles a braced temporary inside co_await
        n.id = "n";
        n.url = "ws://n/voice";
        co_await p->async_announce(n);
        auto placed = co_await p->async_place(7, std::nullopt);
        EXPECT_TRUE(placed);
        auto seen = co_await p->async_lookup(7);
        EXPECT_TRUE(seen && seen->epoch == placed->epoch);
        EXPECT_TRUE(co_await p->async_release(7, placed->epoch));
        co_await p->async_withdraw("n");
        EXPECT_FALSE(co_await p->async_place(7, std::nullopt));
        done = true;
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(done);
}
