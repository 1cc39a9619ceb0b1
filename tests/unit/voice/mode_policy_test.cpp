#include <gtest/gtest.h>

#include "voice/mode_policy.hpp"

using namespace hype;
using namespace hype::voice;

namespace {

ModePolicy make(const std::string& mode = "auto", int max = 4, std::int64_t delay = 1000) {
  return ModePolicy({mode, max, delay});
}

}  // namespace

TEST(ModePolicy, StartsInP2pAndSwitchesToSfuPastTheThreshold) {
  auto p = make();
  EXPECT_EQ(p.mode(1), Mode::p2p);
  for (int n = 1; n <= 4; ++n) EXPECT_FALSE(p.on_count(1, n, 0)) << n;
  EXPECT_EQ(p.mode(1), Mode::p2p);
  EXPECT_EQ(p.on_count(1, 5, 0), Mode::sfu);
  EXPECT_EQ(p.mode(1), Mode::sfu);
  EXPECT_FALSE(p.on_count(1, 6, 0)) << "already sfu";
  EXPECT_EQ(p.mode(2), Mode::p2p) << "channels are independent";
}

TEST(ModePolicy, StaysSfuWhileAboveTheReturnThreshold) {
  auto p = make();
  p.on_count(1, 5, 0);
  EXPECT_FALSE(p.on_count(1, 4, 10));
  EXPECT_FALSE(p.on_count(1, 3, 20));  // 3 > 4 - 2
  EXPECT_TRUE(p.tick(100000).empty()) << "never low enough";
  EXPECT_EQ(p.mode(1), Mode::sfu);
}

TEST(ModePolicy, ReturnsToP2pOnlyAfterTheDelay) {
  auto p = make();
  p.on_count(1, 5, 0);
  EXPECT_FALSE(p.on_count(1, 2, 100));  // low since 100
  EXPECT_TRUE(p.tick(500).empty());
  EXPECT_TRUE(p.tick(1099).empty());
  EXPECT_FALSE(p.on_count(1, 1, 600)) << "still low: the timer keeps running";
  auto ch = p.tick(1100);
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch[0].channel_id, 1);
  EXPECT_EQ(ch[0].mode, Mode::p2p);
  EXPECT_EQ(p.mode(1), Mode::p2p);
  EXPECT_TRUE(p.tick(5000).empty()) << "announced once";
}

TEST(ModePolicy, ABumpAboveTheReturnThresholdRestartsTheDelay) {
  auto p = make();
  p.on_count(1, 5, 0);
  p.on_count(1, 2, 0);
  p.on_count(1, 3, 900);  // back above 2: no longer low
  EXPECT_TRUE(p.tick(1000).empty());
  p.on_count(1, 2, 1000);
  EXPECT_TRUE(p.tick(1999).empty());
  EXPECT_EQ(p.tick(2000).size(), 1u);
}

TEST(ModePolicy, GoingAboveTheThresholdAgainCancelsTheReturn) {
  auto p = make();
  p.on_count(1, 5, 0);
  p.on_count(1, 2, 0);
  EXPECT_FALSE(p.on_count(1, 5, 500)) << "still sfu, no change";
  EXPECT_TRUE(p.tick(5000).empty());
  EXPECT_EQ(p.mode(1), Mode::sfu);
}

TEST(ModePolicy, ACountUpdateAfterTheDelaySwitchesWithoutATick) {
  auto p = make();
  p.on_count(1, 5, 0);
  p.on_count(1, 2, 0);
  EXPECT_EQ(p.on_count(1, 1, 1000), Mode::p2p);
  EXPECT_TRUE(p.tick(2000).empty());
}

TEST(ModePolicy, ZeroDelayReturnsAtOnce) {
  auto p = make("auto", 4, 0);
  p.on_count(1, 5, 0);
  EXPECT_FALSE(p.on_count(1, 3, 0));
  EXPECT_EQ(p.on_count(1, 2, 0), Mode::p2p);
}

TEST(ModePolicy, EmptyChannelResetsToP2p) {
  auto p = make();
  EXPECT_FALSE(p.on_count(1, 2, 0));
  EXPECT_FALSE(p.on_count(1, 0, 0)) << "p2p already";
  EXPECT_EQ(p.tracked(), 0u);
  p.on_count(1, 5, 0);
  EXPECT_EQ(p.on_count(1, 0, 10), Mode::p2p);
  EXPECT_EQ(p.mode(1), Mode::p2p);
  EXPECT_EQ(p.tracked(), 0u);
  EXPECT_FALSE(p.on_count(1, 0, 20)) << "unknown channel";
  EXPECT_FALSE(p.on_count(1, 1, 30));
  EXPECT_EQ(p.mode(1), Mode::p2p);
}

TEST(ModePolicy, FixedModesNeverChange) {
  for (auto m : {Mode::p2p, Mode::sfu}) {
    auto p = make(mode_name(m));
    EXPECT_EQ(p.mode(1), m);
    EXPECT_FALSE(p.on_count(1, 10, 0));
    EXPECT_FALSE(p.on_count(1, 1, 0));
    EXPECT_FALSE(p.on_count(1, 0, 0));
    EXPECT_TRUE(p.tick(100000).empty());
    EXPECT_EQ(p.mode(1), m);
    EXPECT_EQ(p.tracked(), 0u);
  }
}

TEST(ModePolicy, SmallThresholdReturnsOnlyWhenEmpty) {
  // p2p_max_users = 2: the return threshold is 0, so only an empty channel goes back.
  auto p = make("auto", 2, 0);
  EXPECT_EQ(p.on_count(1, 3, 0), Mode::sfu);
  EXPECT_FALSE(p.on_count(1, 2, 0));
  EXPECT_FALSE(p.on_count(1, 1, 0));
  EXPECT_TRUE(p.tick(100000).empty());
  EXPECT_EQ(p.on_count(1, 0, 0), Mode::p2p);
}
