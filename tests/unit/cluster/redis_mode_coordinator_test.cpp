// The voice mode rule on Redis agrees with the in-process one: every scenario of
// mode_coordinator_test.cpp and of ModePolicy's tests runs against both backends (Local and
// Redis, a real redis-server). Then what only a shared backend does: two coordinators (two API
// nodes) see one state, two concurrent tickers announce each change exactly once, the keys
// expire, and Redis down makes every auto-mode call throw RedisError while fixed modes never
// ask Redis.
#include "cluster/redis_mode_coordinator.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "unit/cluster/redis_fixture.hpp"

namespace hype::cluster {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// Param: "local" or "redis". Only the Redis one starts a server.
class ModeBackendTest : public test::RedisFixture,
                        public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() != "redis") return;
    RedisFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    client = started_client();
    ASSERT_TRUE(eventually([&] { return client->connected(); }));
  }
  void TearDown() override {
    made.clear();
    client.reset();
    RedisFixture::TearDown();
  }
  ModeCoordinator& make(const std::string& mode = "auto", int max = 4, std::int64_t delay = 1000) {
    ModePolicy::Options o{mode, max, delay};
    made.push_back(GetParam() == "redis" ? make_redis_mode_coordinator(*client, o)
                                         : make_local_mode_coordinator(o));
    return *made.back();
  }
  // ModePolicy's answer from the coordinator's.
  static std::optional<VoiceMode> count(ModeCoordinator& m, Id ch, int n, std::int64_t now) {
    auto u = m.on_count(ch, 99, n, now);
    if (!u) return std::nullopt;
    EXPECT_EQ(u->channel_id, ch);
    EXPECT_EQ(u->guild_id, 99);
    return u->mode;
  }

  std::unique_ptr<RedisClient> client;
  std::vector<std::unique_ptr<ModeCoordinator>> made;
};

INSTANTIATE_TEST_SUITE_P(Backends, ModeBackendTest, ::testing::Values("local", "redis"),
                         [](const auto& p) { return p.param; });

// --- mode_coordinator_test.cpp ---

TEST_P(ModeBackendTest, SwitchesAndReturnsWithTheGuild) {
  auto& m = make("auto", 4, 1000);
  for (int n = 1; n <= 4; ++n) EXPECT_FALSE(m.on_count(10, 99, n, 0));
  auto up = m.on_count(10, 99, 5, 0);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->channel_id, 10);
  EXPECT_EQ(up->guild_id, 99);
  EXPECT_EQ(up->mode, VoiceMode::sfu);
  EXPECT_EQ(m.mode(10), VoiceMode::sfu);
  EXPECT_FALSE(m.on_count(10, 99, 2, 100)) << "low since 100, delay not over";
  EXPECT_TRUE(m.tick(1099).empty());
  auto back = m.tick(1100);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].channel_id, 10);
  EXPECT_EQ(back[0].guild_id, 99) << "the ticker announces in the right guild";
  EXPECT_EQ(back[0].mode, VoiceMode::p2p);
  EXPECT_TRUE(m.tick(5000).empty()) << "announced once";
  EXPECT_EQ(m.mode(10), VoiceMode::p2p);
}

TEST_P(ModeBackendTest, EmptyChannelIsForgottenAndFixedModesNeverChange) {
  auto& m = make("auto", 2, 1000);
  m.on_count(1, 5, 3, 0);
  auto gone = m.on_count(1, 5, 0, 10);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->mode, VoiceMode::p2p);
  EXPECT_TRUE(m.tick(100000).empty());

  auto& sfu = make("sfu", 2, 1000);
  EXPECT_EQ(sfu.mode(1), VoiceMode::sfu);
  EXPECT_FALSE(sfu.on_count(1, 5, 50, 0));
  EXPECT_TRUE(sfu.tick(100000).empty());
}

TEST_P(ModeBackendTest, AwaitedOnTheEventLoop) {
  auto& m = make("auto", 3, 10);
  asio::io_context loop;
  int changes = 0;
  asio::co_spawn(
      loop,
      [&]() -> asio::awaitable<void> {
        if (co_await m.async_on_count(3, 4, 4, 0)) ++changes;
        EXPECT_EQ(co_await m.async_mode(3), VoiceMode::sfu);
        co_await m.async_on_count(3, 4, 1, 0);
        auto due = co_await m.async_tick(10);
        changes += static_cast<int>(due.size());
      },
      asio::detached);
  loop.run();
  EXPECT_EQ(changes, 2);
}

// --- tests/unit/voice/mode_policy_test.cpp ---

TEST_P(ModeBackendTest, StartsInP2pAndSwitchesToSfuPastTheThreshold) {
  auto& p = make();
  EXPECT_EQ(p.mode(1), VoiceMode::p2p);
  for (int n = 1; n <= 4; ++n) EXPECT_FALSE(count(p, 1, n, 0)) << n;
  EXPECT_EQ(p.mode(1), VoiceMode::p2p);
  EXPECT_EQ(count(p, 1, 5, 0), VoiceMode::sfu);
  EXPECT_EQ(p.mode(1), VoiceMode::sfu);
  EXPECT_FALSE(count(p, 1, 6, 0)) << "already sfu";
  EXPECT_EQ(p.mode(2), VoiceMode::p2p) << "channels are independent";
}

TEST_P(ModeBackendTest, StaysSfuWhileAboveTheReturnThreshold) {
  auto& p = make();
  count(p, 1, 5, 0);
  EXPECT_FALSE(count(p, 1, 4, 10));
  EXPECT_FALSE(count(p, 1, 3, 20));  // 3 > 4 - 2
  EXPECT_TRUE(p.tick(100000).empty()) << "never low enough";
  EXPECT_EQ(p.mode(1), VoiceMode::sfu);
}

TEST_P(ModeBackendTest, ReturnsToP2pOnlyAfterTheDelay) {
  auto& p = make();
  count(p, 1, 5, 0);
  EXPECT_FALSE(count(p, 1, 2, 100));  // low since 100
  EXPECT_TRUE(p.tick(500).empty());
  EXPECT_TRUE(p.tick(1099).empty());
  EXPECT_FALSE(count(p, 1, 1, 600)) << "still low: the timer keeps running";
  auto ch = p.tick(1100);
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch[0].channel_id, 1);
  EXPECT_EQ(ch[0].mode, VoiceMode::p2p);
  EXPECT_EQ(p.mode(1), VoiceMode::p2p);
  EXPECT_TRUE(p.tick(5000).empty()) << "announced once";
}

TEST_P(ModeBackendTest, ABumpAboveTheReturnThresholdRestartsTheDelay) {
  auto& p = make();
  count(p, 1, 5, 0);
  count(p, 1, 2, 0);
  count(p, 1, 3, 900);  // back above 2: no longer low
  EXPECT_TRUE(p.tick(1000).empty());
  count(p, 1, 2, 1000);
  EXPECT_TRUE(p.tick(1999).empty());
  EXPECT_EQ(p.tick(2000).size(), 1u);
}

TEST_P(ModeBackendTest, GoingAboveTheThresholdAgainCancelsTheReturn) {
  auto& p = make();
  count(p, 1, 5, 0);
  count(p, 1, 2, 0);
  EXPECT_FALSE(count(p, 1, 5, 500)) << "still sfu, no change";
  EXPECT_TRUE(p.tick(5000).empty());
  EXPECT_EQ(p.mode(1), VoiceMode::sfu);
}

TEST_P(ModeBackendTest, ACountUpdateAfterTheDelaySwitchesWithoutATick) {
  auto& p = make();
  count(p, 1, 5, 0);
  count(p, 1, 2, 0);
  EXPECT_EQ(count(p, 1, 1, 1000), VoiceMode::p2p);
  EXPECT_TRUE(p.tick(2000).empty());
}

TEST_P(ModeBackendTest, ZeroDelayReturnsAtOnce) {
  auto& p = make("auto", 4, 0);
  count(p, 1, 5, 0);
  EXPECT_FALSE(count(p, 1, 3, 0));
  EXPECT_EQ(count(p, 1, 2, 0), VoiceMode::p2p);
}

TEST_P(ModeBackendTest, EmptyChannelResetsToP2p) {
  auto& p = make();
  EXPECT_FALSE(count(p, 1, 2, 0));
  EXPECT_FALSE(count(p, 1, 0, 0)) << "p2p already";
  count(p, 1, 5, 0);
  EXPECT_EQ(count(p, 1, 0, 10), VoiceMode::p2p);
  EXPECT_EQ(p.mode(1), VoiceMode::p2p);
  EXPECT_FALSE(count(p, 1, 0, 20)) << "unknown channel";
  EXPECT_FALSE(count(p, 1, 1, 30));
  EXPECT_EQ(p.mode(1), VoiceMode::p2p);
}

TEST_P(ModeBackendTest, FixedModesNeverChange) {
  for (auto mode : {VoiceMode::p2p, VoiceMode::sfu}) {
    auto& p = make(mode_name(mode));
    EXPECT_EQ(p.mode(1), mode);
    EXPECT_FALSE(count(p, 1, 10, 0));
    EXPECT_FALSE(count(p, 1, 1, 0));
    EXPECT_FALSE(count(p, 1, 0, 0));
    EXPECT_TRUE(p.tick(100000).empty());
    EXPECT_EQ(p.mode(1), mode);
  }
}

TEST_P(ModeBackendTest, SmallThresholdReturnsOnlyWhenEmpty) {
  // p2p_max_users = 2: the return threshold is 0, so only an empty channel goes back.
  auto& p = make("auto", 2, 0);
  EXPECT_EQ(count(p, 1, 3, 0), VoiceMode::sfu);
  EXPECT_FALSE(count(p, 1, 2, 0));
  EXPECT_FALSE(count(p, 1, 1, 0));
  EXPECT_TRUE(p.tick(100000).empty());
  EXPECT_EQ(count(p, 1, 0, 0), VoiceMode::p2p);
}

TEST_P(ModeBackendTest, ManyChannelsTickTogether) {
  auto& p = make("auto", 4, 1000);
  for (Id ch = 1; ch <= 30; ++ch) {
    count(p, ch, 6, 0);
    count(p, ch, 1, ch * 10);  // due at 1000 + ch * 10
  }
  EXPECT_TRUE(p.tick(1009).empty());
  auto first = p.tick(1150);  // channels 1..15
  std::set<Id> got;
  for (auto& u : first) got.insert(u.channel_id);
  EXPECT_EQ(got.size(), 15u);
  EXPECT_EQ(*got.begin(), 1);
  EXPECT_EQ(*got.rbegin(), 15);
  EXPECT_EQ(p.tick(100000).size(), 15u);
  EXPECT_TRUE(p.tick(200000).empty());
  for (Id ch = 1; ch <= 30; ++ch) EXPECT_EQ(p.mode(ch), VoiceMode::p2p);
}

// --- Redis only: state shared between API nodes ---

class RedisModeTest : public test::RedisFixture {
 protected:
  void SetUp() override {
    RedisFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (int i = 0; i < 3; ++i) clients.push_back(started_client());
    ASSERT_TRUE(eventually([&] {
      for (auto& c : clients)
        if (!c->connected()) return false;
      return true;
    }));
    ModePolicy::Options o{"auto", 4, 1000};
    a = make_redis_mode_coordinator(*clients[0], o);
    b = make_redis_mode_coordinator(*clients[1], o);
  }
  void TearDown() override {
    a.reset();
    b.reset();
    clients.clear();
    RedisFixture::TearDown();
  }
  RedisReply raw(std::vector<std::string> args) {
    return wait(clients[2]->command(std::move(args)));
  }

  std::vector<std::unique_ptr<RedisClient>> clients;  // a, b, raw
  std::unique_ptr<ModeCoordinator> a, b;
};

TEST_F(RedisModeTest, TwoNodesSeeOneState) {
  // Joins counted on A, leaves on B: one channel.
  for (int n = 1; n <= 4; ++n) EXPECT_FALSE(a->on_count(10, 99, n, 0));
  auto up = b->on_count(10, 99, 5, 0);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->mode, VoiceMode::sfu);
  EXPECT_EQ(a->mode(10), VoiceMode::sfu);
  EXPECT_FALSE(a->on_count(10, 99, 6, 10)) << "B switched it already";
  EXPECT_FALSE(b->on_count(10, 99, 2, 100));
  EXPECT_TRUE(a->tick(1099).empty());
  auto back = a->tick(1100);  // the delay B started runs out on A's ticker
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].guild_id, 99);
  EXPECT_TRUE(b->tick(1100).empty()) << "announced once";
  EXPECT_EQ(b->mode(10), VoiceMode::p2p);
  // Emptied on one node, known empty on the other.
  b->on_count(11, 99, 9, 0);
  auto gone = a->on_count(11, 99, 0, 5);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->mode, VoiceMode::p2p);
  EXPECT_FALSE(b->on_count(11, 99, 0, 6));
}

TEST_F(RedisModeTest, ConcurrentTickersAnnounceEachChangeOnce) {
  constexpr int kChannels = 150;  // more than one tick's batch (100)
  for (Id ch = 1; ch <= kChannels; ++ch) {
    a->on_count(ch, 1000 + ch, 5, 0);
    b->on_count(ch, 1000 + ch, 1, ch);  // due at 1000 + ch
  }
  std::map<Id, int> announced;
  std::mutex mu;
  auto ticker = [&](ModeCoordinator& m) {
    for (std::int64_t now = 1000; now <= 1000 + kChannels + 20; now += 3) {
      for (auto& u : m.tick(now)) {
        EXPECT_EQ(u.guild_id, 1000 + u.channel_id);
        std::lock_guard lock(mu);
        ++announced[u.channel_id];
      }
    }
  };
  auto fa = std::async(std::launch::async, [&] { ticker(*a); });
  auto fb = std::async(std::launch::async, [&] { ticker(*b); });
  fa.get();
  fb.get();
  // Whatever a batch limit left over goes at the next ticks.
  for (int i = 0; i < 3; ++i)
    for (auto& u : a->tick(100000)) ++announced[u.channel_id];
  ASSERT_EQ(announced.size(), static_cast<std::size_t>(kChannels));
  for (auto& [ch, n] : announced) EXPECT_EQ(n, 1) << ch;
}

TEST_F(RedisModeTest, KeysLiveUnderHypeWithTtlsAndGoWhenP2p) {
  a->on_count(10, 99, 5, 0);
  a->on_count(10, 99, 1, 0);
  std::vector<std::string> ttl_ch{"TTL", "hype:{voice}:mode:10"};
  std::vector<std::string> ttl_due{"TTL", "hype:{voice}:mode:due"};
  EXPECT_GT(raw(ttl_ch).integer, 86400);
  EXPECT_GT(raw(ttl_due).integer, 86400);
  std::vector<std::string> keys{"KEYS", "*"};
  std::set<std::string> all;
  for (auto& k : raw(keys).elements) all.insert(k.str);
  EXPECT_EQ(all, (std::set<std::string>{"hype:{voice}:mode:10", "hype:{voice}:mode:due"}));
  ASSERT_EQ(a->tick(1000).size(), 1u);
  EXPECT_TRUE(raw(keys).elements.empty()) << "a P2P channel has no state";
}

TEST_F(RedisModeTest, AnExpiredChannelIsDroppedFromTheDueSet) {
  a->on_count(10, 99, 5, 0);
  a->on_count(10, 99, 1, 0);
  std::vector<std::string> del{"DEL", "hype:{voice}:mode:10"};  // as its TTL would
  raw(del);
  EXPECT_TRUE(a->tick(5000).empty());
  std::vector<std::string> card{"ZCARD", "hype:{voice}:mode:due"};
  EXPECT_EQ(raw(card).integer, 0);
}

TEST_F(RedisModeTest, RedisDownThrowsAndRecovers) {
  a->on_count(10, 99, 5, 0);
  server.stop();
  ASSERT_TRUE(eventually([&] { return !clients[0]->connected(); }));
  EXPECT_THROW(a->on_count(10, 99, 6, 0), RedisError);
  EXPECT_THROW(a->mode(10), RedisError);
  EXPECT_THROW(a->tick(5000), RedisError);
  ModePolicy::Options fixed{"sfu", 4, 1000};
  auto f = make_redis_mode_coordinator(*clients[0], fixed);
  EXPECT_EQ(f->mode(10), VoiceMode::sfu) << "fixed modes never ask Redis";
  EXPECT_FALSE(f->on_count(10, 99, 6, 0));
  EXPECT_TRUE(f->tick(5000).empty());
  // Back (empty, no persistence): the next count sets the state again.
  ASSERT_TRUE(server.start());
  ASSERT_TRUE(eventually([&] { return clients[0]->connected(); }));
  EXPECT_EQ(a->mode(10), VoiceMode::p2p);
  auto up = a->on_count(10, 99, 6, 0);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->mode, VoiceMode::sfu);
}

}  // namespace
}  // namespace hype::cluster
