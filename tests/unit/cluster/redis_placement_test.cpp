// cluster::Placement on Redis, against a real redis-server: channels spread over the live
// nodes by load, region preference and its fallback, capacity and draining, idempotent and
// race-free placement from two API nodes, a node that stops heartbeating loses its channels
// (new epoch; the stale epoch cannot release), and Redis down keeps placed channels joinable
// while refusing new placements with PlacementError, until it is back.
#include "cluster/redis_placement.hpp"

#include "cluster/metered_placement.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "unit/cluster/redis_fixture.hpp"

namespace hype::cluster {
namespace {

using namespace std::chrono_literals;

class RedisPlacementTest : public test::RedisFixture {
 protected:
  void SetUp() override {
    RedisFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (int i = 0; i < 2; ++i) clients.push_back(started_client());
    ASSERT_TRUE(eventually([&] { return clients[0]->connected() && clients[1]->connected(); }));
    RedisPlacementOptions po;
    po.node_ttl = 400ms;
    // Two API nodes, each with its own connection and cache.
    a = make_redis_placement(*clients[0], po);
    b = make_redis_placement(*clients[1], po);
  }
  void TearDown() override {
    a.reset();
    b.reset();
    clients.clear();
    RedisFixture::TearDown();
  }
  static SfuNode node(const std::string& id, const std::string& region, int cap = 0,
                      int participants = 0, bool draining = false) {
    return {id, "ws://" + id + "/voice", region, cap, participants, draining};
  }

  std::vector<std::unique_ptr<RedisClient>> clients;
  std::unique_ptr<Placement> a, b;
};

TEST_F(RedisPlacementTest, SpreadsChannelsOverLiveNodesAndIsIdempotent) {
  for (const char* id : {"n1", "n2", "n3"}) a->announce(node(id, "eu"));
  std::map<std::string, int> per_node;
  std::map<Id, Placed> first;
  for (Id ch = 1; ch <= 30; ++ch) {
    auto p = (ch % 2 ? a : b)->place(ch);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->node.url, "ws://" + p->node.id + "/voice");
    EXPECT_EQ(p->node.region, "eu");
    per_node[p->node.id]++;
    first[ch] = *p;
  }
  // Fewest placed channels first: an even spread.
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"n1", 10}, {"n2", 10}, {"n3", 10}}));
  // Asking again (either API node) answers the same decision, epoch included.
  for (Id ch = 1; ch <= 30; ++ch) {
    auto p = (ch % 2 ? b : a)->place(ch);
    EXPECT_EQ(p->node.id, first[ch].node.id);
    EXPECT_EQ(p->epoch, first[ch].epoch);
    EXPECT_EQ(a->lookup(ch)->epoch, first[ch].epoch);
  }
  std::set<std::uint64_t> epochs;
  for (auto& [ch, p] : first) epochs.insert(p.epoch);
  EXPECT_EQ(epochs.size(), 30u);  // every decision has its own epoch
  EXPECT_FALSE(a->lookup(99));
}

TEST_F(RedisPlacementTest, TwoApiNodesRacingForOneChannelAgree) {
  for (const char* id : {"n1", "n2", "n3"}) a->announce(node(id, ""));
  for (Id ch = 100; ch < 120; ++ch) {
    auto fa = std::async(std::launch::async, [&] { return a->place(ch); });
    auto fb = std::async(std::launch::async, [&] { return b->place(ch); });
    auto pa = fa.get(), pb = fb.get();
    ASSERT_TRUE(pa && pb);
    EXPECT_EQ(pa->node.id, pb->node.id) << ch;
    EXPECT_EQ(pa->epoch, pb->epoch) << ch;
  }
}

TEST_F(RedisPlacementTest, RegionFirstThenAnyRegionWithCapacity) {
  a->announce(node("eu1", "eu"));
  a->announce(node("us1", "us", 10, 3));
  a->announce(node("us2", "us", 10, 10));  // full
  for (Id ch = 1; ch <= 4; ++ch) EXPECT_EQ(a->place(ch, "us")->node.id, "us1");
  EXPECT_EQ(a->place(5, "eu")->node.id, "eu1");
  EXPECT_EQ(a->place(6)->node.id, "eu1");  // no preference: fewest channels (eu1 has 1)
  // us1 fills up (its heartbeat says so): "us" channels go to another region.
  a->announce(node("us1", "us", 10, 10));
  EXPECT_EQ(a->place(7, "us")->node.id, "eu1");
  // A draining node takes no new channels; its placed ones stay until they are released.
  a->announce(node("eu1", "eu", 0, 0, true));
  EXPECT_FALSE(a->place(8, "eu"));
  EXPECT_EQ(a->place(5, "eu")->node.id, "eu1");
}

TEST_F(RedisPlacementTest, ANodeThatStopsHeartbeatingLosesItsChannels) {
  a->announce(node("n1", ""));
  auto p = a->place(1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->node.id, "n1");
  b->announce(node("n2", ""));
  // n2 keeps heartbeating, n1 does not.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(100ms);
    b->announce(node("n2", ""));
  }
  auto q = b->place(1);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->node.id, "n2");
  EXPECT_GT(q->epoch, p->epoch);
  // n1 back from the dead with its old decision cannot drop the new one.
  EXPECT_FALSE(a->release(1, p->epoch));
  EXPECT_EQ(a->lookup(1)->node.id, "n2");
  EXPECT_TRUE(a->release(1, q->epoch));
  EXPECT_FALSE(a->lookup(1));
  EXPECT_FALSE(a->release(1, q->epoch));  // once
}

TEST_F(RedisPlacementTest, WithdrawnNodeTakesNothingAndItsChannelsMove) {
  a->announce(node("n1", ""));
  a->announce(node("n2", ""));
  auto p = a->place(1);
  a->withdraw(p->node.id);
  for (Id ch = 2; ch < 6; ++ch) EXPECT_NE(a->place(ch)->node.id, p->node.id);
  auto q = b->place(1);
  EXPECT_NE(q->node.id, p->node.id);
  EXPECT_GT(q->epoch, p->epoch);
  b->withdraw("n1");
  b->withdraw("n2");
  EXPECT_FALSE(b->place(10));  // no node at all: voice stays peer to peer
}

TEST_F(RedisPlacementTest, RedisDownKeepsPlacedChannelsAndRefusesNewOnes) {
  a->announce(node("n1", ""));
  auto p = a->place(1);
  ASSERT_TRUE(p);
  server.stop();
  for (int i = 0; i < 200 && clients[0]->connected(); ++i) std::this_thread::sleep_for(10ms);
  auto again = a->place(1);  // from this API node's cache
  ASSERT_TRUE(again);
  EXPECT_EQ(again->node.id, "n1");
  EXPECT_EQ(again->epoch, p->epoch);
  EXPECT_EQ(a->lookup(1)->epoch, p->epoch);
  EXPECT_THROW(a->place(2), PlacementError);
  EXPECT_THROW(b->place(1), PlacementError);  // b never saw channel 1
  EXPECT_FALSE(a->release(1, p->epoch));      // fails quietly
  // Redis back (empty: no persistence): new placements work again once the node heartbeats.
  ASSERT_TRUE(server.start());
  for (int i = 0; i < 500 && !(clients[0]->connected() && clients[1]->connected()); ++i)
    std::this_thread::sleep_for(10ms);
  a->announce(node("n1", ""));
  auto q = b->place(2);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->node.id, "n1");
}

// The fast failure signal: a client lost node n1. While n1's own Redis connection is open
// (n1 alive) the report changes nothing; once it is closed (a killed process's is, at once),
// n1 leaves the registry without waiting for its heartbeat to age, and the next place() moves
// the channel, saying where from.
TEST_F(RedisPlacementTest, AReportedNodeWhoseConnectionIsClosedIsWithdrawnAtOnce) {
  auto n1_conn = started_client();
  ASSERT_TRUE(eventually([&] { return n1_conn->connected(); }));
  auto n1 = make_redis_placement(*n1_conn);  // n1 heartbeats on its own connection
  n1->announce(node("n1", ""));
  a->announce(node("n2", ""));
  auto p = a->place(7, "");
  ASSERT_TRUE(p);
  if (p->node.id != "n1") {  // put channel 7 on n1 for the test
    a->withdraw("n2");
    a->release(7, p->epoch);
    p = a->place(7, "");
    a->announce(node("n2", ""));
  }
  ASSERT_EQ(p->node.id, "n1");
  EXPECT_TRUE(p->moved_from.empty()) << "a first placement moves nothing";
  EXPECT_FALSE(b->report_unreachable("n1")) << "n1 is alive: its connection is open";
  EXPECT_FALSE(b->report_unreachable("nobody"));
  EXPECT_EQ(b->place(7)->node.id, "n1");
  n1.reset();
  n1_conn.reset();  // the process is gone: Redis closes its connection
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = b->report_unreachable("n1");
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(gone);
  auto q = a->place(7);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->node.id, "n2");
  EXPECT_EQ(q->moved_from, "n1");
  EXPECT_GT(q->epoch, p->epoch);
  EXPECT_TRUE(b->place(7)->moved_from.empty()) << "only the call that moved it says so";
}

// Drain: a node moves its channels away (compare-and-set on the node), to a node that is not
// draining, preferring the region; the old node's count goes down, the new one's up.
TEST_F(RedisPlacementTest, ADrainingNodeMovesItsChannelsToAnother) {
  a->announce(node("n1", "eu"));
  auto p = a->place(1, "eu");
  ASSERT_EQ(p->node.id, "n1");
  EXPECT_FALSE(a->move(1, "n1", "eu")) << "no other node to take it";
  b->announce(node("n2", "us"));
  b->announce(node("n3", "eu", 0, 0, true));  // draining too: takes nothing
  EXPECT_FALSE(b->move(1, "n2")) << "channel 1 is not on n2";
  a->announce(node("n1", "eu", 0, 0, true));  // n1 drains
  auto q = a->move(1, "n1", "eu");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->node.id, "n2");
  EXPECT_EQ(q->moved_from, "n1");
  EXPECT_GT(q->epoch, p->epoch);
  EXPECT_EQ(b->place(1)->node.id, "n2") << "every API node sees the move";
  EXPECT_FALSE(a->move(1, "n1")) << "once";
  std::map<std::string, int> channels;
  for (auto& st : wait(registry_status(*clients[0]))) channels[st.node.id] = st.channels;
  EXPECT_EQ(channels["n1"], 0);
  EXPECT_EQ(channels["n2"], 1);
}

// The lease check (item 6: no split brain): a node that was cut off while its channel moved
// learns at its next claim that the channel is another node's; a channel it still holds has its
// record kept; one the store forgot is placed on it again; a draining node reclaims nothing.
TEST_F(RedisPlacementTest, AClaimReturnsChannelsThatMovedAndReplacesForgottenOnes) {
  a->announce(node("n1", ""));
  ASSERT_EQ(a->place(1)->node.id, "n1");
  ASSERT_EQ(a->place(2)->node.id, "n1");
  EXPECT_TRUE(a->claim("n1", {1, 2}).empty()) << "both still n1's";
  // n1 is cut off: its heartbeat expires, n2 takes channel 1 when someone joins it.
  b->announce(node("n2", ""));
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(100ms);
    b->announce(node("n2", ""));
  }
  auto moved = b->place(1);
  ASSERT_EQ(moved->node.id, "n2");
  // n1 is back: its heartbeat, then its claim of the rooms it still runs.
  a->announce(node("n1", ""));
  auto lost = a->claim("n1", {1, 2});
  ASSERT_EQ(lost.size(), 1U);
  EXPECT_EQ(lost[0].channel_id, 1);
  EXPECT_EQ(lost[0].node.id, "n2");
  EXPECT_EQ(lost[0].node.url, "ws://n2/voice");
  EXPECT_EQ(lost[0].epoch, moved->epoch);
  EXPECT_EQ(b->lookup(1)->node.id, "n2") << "a claim moves nothing back";
  // Channel 2 was never taken (nobody joined it meanwhile): it is n1's again.
  EXPECT_EQ(b->place(2)->node.id, "n1");
  // A store that forgot channel 3 (restarted empty) gets it back, on the node that runs it.
  auto lost3 = a->claim("n1", {3});
  EXPECT_TRUE(lost3.empty());
  auto three = b->lookup(3);
  ASSERT_TRUE(three);
  EXPECT_EQ(three->node.id, "n1");
  // A draining node does not take a forgotten channel back.
  a->announce(node("n1", "", 0, 0, true));
  EXPECT_TRUE(a->claim("n1", {4}).empty());
  EXPECT_FALSE(b->lookup(4));
  EXPECT_TRUE(a->claim("n1", {}).empty());
}

}  // namespace
}  // namespace hype::cluster

namespace hype::cluster {
namespace {

// The node-expiry sweep: a node that stops heartbeating leaves the registry at the next sweep
// (reported once) and its channels move to live nodes, its own region first, without anyone
// joining them; at most `max` per sweep; a released channel is not moved; a withdrawn node's
// channels move the same way.
TEST_F(RedisPlacementTest, ASweepMovesTheChannelsOfANodeThatLeftTheRegistry) {
  a->announce(node("n1", "eu"));
  std::map<Id, Placed> first;
  for (Id ch = 1; ch <= 3; ++ch) first[ch] = *a->place(ch, "eu");
  for (auto& [ch, p] : first) ASSERT_EQ(p.node.id, "n1");
  a->release(3, first[3].epoch);  // channel 3 emptied before n1 died
  auto beat = [&] {
    b->announce(node("us1", "us"));
    b->announce(node("eu2", "eu"));
  };
  beat();
  EXPECT_TRUE(a->sweep().moved.empty()) << "n1 is alive";
  for (int i = 0; i < 6; ++i) {  // n1 stops heartbeating (node_ttl 400 ms)
    std::this_thread::sleep_for(100ms);
    beat();
  }
  auto s1 = b->sweep(1);
  EXPECT_EQ(s1.expired, std::vector<std::string>{"n1"});
  ASSERT_EQ(s1.moved.size(), 1U) << "one move per sweep at most 1";
  auto s2 = a->sweep(1);
  EXPECT_TRUE(s2.expired.empty()) << "an expiry is reported once";
  ASSERT_EQ(s2.moved.size(), 1U);
  std::set<Id> moved_channels;
  for (auto* s : {&s1, &s2}) {
    const Placed& m = s->moved[0];
    moved_channels.insert(m.channel_id);
    EXPECT_EQ(m.node.id, "eu2") << "the lost node's region first";
    EXPECT_EQ(m.node.url, "ws://eu2/voice");
    EXPECT_EQ(m.moved_from, "n1");
    EXPECT_GT(m.epoch, first[m.channel_id].epoch);
    EXPECT_EQ(b->lookup(m.channel_id)->node.id, "eu2") << "every API node sees the move";
    EXPECT_TRUE(b->place(m.channel_id)->moved_from.empty()) << "a join finds it moved already";
  }
  EXPECT_EQ(moved_channels, (std::set<Id>{1, 2}));
  EXPECT_FALSE(a->lookup(3)) << "a released channel stays released";
  auto s3 = b->sweep();
  EXPECT_TRUE(s3.expired.empty());
  EXPECT_TRUE(s3.moved.empty()) << "nothing left to move";

  // A withdrawn node with channels: they move at the next sweep too.
  beat();
  auto p = a->place(7, "us");
  ASSERT_EQ(p->node.id, "us1");
  a->withdraw("us1");
  auto s4 = a->sweep();
  EXPECT_TRUE(s4.expired.empty()) << "withdrawn, not expired";
  ASSERT_EQ(s4.moved.size(), 1U);
  EXPECT_EQ(s4.moved[0].channel_id, 7);
  EXPECT_EQ(s4.moved[0].node.id, "eu2") << "no us node left: any other region";
  EXPECT_EQ(s4.moved[0].moved_from, "us1");
}

// A channel moved by a join before the sweep got to it is not moved again; a node that
// heartbeats again before the sweep keeps its channels.
TEST_F(RedisPlacementTest, ASweepLeavesChannelsAJoinMovedAndNodesThatCameBack) {
  a->announce(node("n1", ""));
  ASSERT_EQ(a->place(1)->node.id, "n1");
  ASSERT_EQ(a->place(2)->node.id, "n1");
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(100ms);
    b->announce(node("n2", ""));
  }
  auto joined = b->place(1);  // a join finds n1 expired: channel 1 moves now
  ASSERT_EQ(joined->node.id, "n2");
  EXPECT_EQ(joined->moved_from, "n1");
  auto s = a->sweep();
  ASSERT_EQ(s.moved.size(), 1U);
  EXPECT_EQ(s.moved[0].channel_id, 2);
  EXPECT_EQ(b->lookup(1)->epoch, joined->epoch) << "not moved twice";

  // n3 is forgotten by a join's place() (expired), then heartbeats again before any sweep:
  // its channel stays with it.
  a->announce(node("n3", ""));
  a->withdraw("n2");
  auto on3 = a->place(5);
  ASSERT_EQ(on3->node.id, "n3");
  a->withdraw("n3");
  a->announce(node("n3", ""));  // back
  for (auto& m : a->sweep().moved) EXPECT_NE(m.channel_id, 5) << "n2's channels move, not n3's";
  EXPECT_EQ(b->lookup(5)->node.id, "n3");
  EXPECT_EQ(b->lookup(5)->epoch, on3->epoch);
}

// Region preference is a list, nearest first: the first listed region with a live node wins,
// then any other region.
TEST_F(RedisPlacementTest, PreferredRegionsAreTriedNearestFirst) {
  a->announce(node("us1", "us"));
  a->announce(node("eu1", "eu"));
  a->announce(node("ap1", "ap"));
  EXPECT_EQ(a->place(1, "sa,eu,us")->node.id, "eu1");
  EXPECT_EQ(a->place(2, "us,eu")->node.id, "us1");
  a->withdraw("eu1");
  EXPECT_EQ(a->place(3, "sa,eu,us")->node.id, "us1");
  a->withdraw("us1");
  EXPECT_EQ(a->place(4, "sa,eu,us")->node.id, "ap1") << "then any region";
}

// Redis frozen for longer than the node TTL (unreachable for everyone: no heartbeat, no
// sweep): once it is back, the nodes have not expired and nothing moves; a node that really
// stopped still expires one TTL of live time later.
TEST_F(RedisPlacementTest, TimeRedisWasFrozenDoesNotExpireTheNodes) {
  a->announce(node("n1", ""));
  a->announce(node("n2", ""));
  auto p1 = a->place(1);
  auto p2 = a->place(2);
  ASSERT_NE(p1->node.id, p2->node.id);
  server.freeze();
  std::this_thread::sleep_for(2000ms);  // 5x the test's node TTL (400 ms)
  server.thaw();
  ASSERT_TRUE(eventually([&] { return clients[0]->connected() && clients[1]->connected(); }));
  auto s = b->sweep();  // the first script after the pause
  EXPECT_TRUE(s.expired.empty());
  EXPECT_TRUE(s.moved.empty());
  EXPECT_EQ(b->place(1)->epoch, p1->epoch) << "not moved";
  // n2 keeps heartbeating, n1 does not: n1 expires after the TTL as usual.
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(100ms);
    a->announce(node("n2", ""));
  }
  auto later = b->sweep();
  EXPECT_EQ(later.expired, std::vector<std::string>{"n1"});
  ASSERT_EQ(later.moved.size(), 1U);
  EXPECT_EQ(later.moved[0].channel_id, p1->node.id == "n1" ? 1 : 2);
}

// The metrics decorator counts what the placement decided: kept, placed, moved, none,
// unavailable; the sweep's moves and expired nodes; the time of each decision.
TEST_F(RedisPlacementTest, MeteredPlacementCountsDecisionsMovesAndLostNodes) {
  metrics::Registry reg;
  RedisPlacementOptions po;
  po.node_ttl = 400ms;
  auto m = make_metered_placement(make_redis_placement(*clients[0], po), reg);
  auto decisions = [&](const char* outcome) {
    return reg.counter("placement_decisions_total", "", {"outcome"}).with({outcome}).value();
  };
  EXPECT_FALSE(m->place(1)) << "no node yet";
  m->announce(node("n1", ""));
  ASSERT_TRUE(m->place(1));
  ASSERT_TRUE(m->place(1));
  ASSERT_TRUE(m->place(2));
  for (int i = 0; i < 6; ++i) {  // n1 stops heartbeating, n2 beats
    std::this_thread::sleep_for(100ms);
    b->announce(node("n2", ""));
  }
  auto moved = m->place(1);  // a join finds n1 expired
  ASSERT_EQ(moved->moved_from, "n1");
  auto swept = m->sweep();  // channel 2 moves
  ASSERT_EQ(swept.moved.size(), 1U);
  server.freeze();
  EXPECT_THROW(m->place(50), PlacementError);
  server.thaw();
  EXPECT_EQ(decisions("none"), 1);
  EXPECT_EQ(decisions("placed"), 2);
  EXPECT_EQ(decisions("kept"), 1);
  EXPECT_EQ(decisions("moved"), 1);
  EXPECT_EQ(decisions("unavailable"), 1);
  EXPECT_EQ(reg.counter("placement_moves_total", "", {"reason"}).with({"sweep"}).value(), 1);
  EXPECT_EQ(reg.histogram("placement_decision_seconds", "", {}).get().count(), 6U);
  const std::string text = reg.render();
  EXPECT_NE(text.find("placement_decisions_total{outcome=\"placed\"} 2"), std::string::npos)
      << text;
}

// A write-back after the store forgot a channel names the node the call runs on: a channel
// with no live placement goes there (not to the least loaded node), or nowhere while that node
// cannot take it; a live placement elsewhere stands.
TEST_F(RedisPlacementTest, APreferredNodeTakesAChannelWithNoLivePlacement) {
  a->announce(node("n1", "eu"));
  a->announce(node("n2", "eu"));
  for (Id ch = 1; ch <= 4; ++ch) a->place(ch);  // two each
  a->announce(node("n3", "eu"));                // empty: the least loaded
  auto p = a->place(10, "eu", "n1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->node.id, "n1") << "the preferred node, not the least loaded n3";
  EXPECT_TRUE(p->decided);
  EXPECT_EQ(b->place(10, "eu", "n2")->node.id, "n1") << "a live placement stands";
  EXPECT_FALSE(a->place(11, "eu", "nobody")) << "not registered (yet): no decision, retried";
  EXPECT_FALSE(a->lookup(11));
  a->announce(node("n2", "eu", 0, 0, true));
  EXPECT_FALSE(a->place(12, "eu", "n2")) << "draining: takes nothing";
  EXPECT_EQ(a->place(12, "eu")->node.id, "n3") << "without a preference: as usual";
}

}  // namespace
}  // namespace hype::cluster
