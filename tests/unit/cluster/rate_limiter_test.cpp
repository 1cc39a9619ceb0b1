#include <gtest/gtest.h>

#include "cluster/rate_limiter.hpp"

using namespace hype;
using namespace hype::cluster;

TEST(RateLimiter, BurstThenRefill) {
  RateLimiter rl;
  RateBudget b{3, 3};  // 3 tokens, one per second
  EXPECT_TRUE(rl.take("k", b, 1, 0).allowed);
  EXPECT_TRUE(rl.take("k", b, 1, 0).allowed);
  EXPECT_TRUE(rl.take("k", b, 1, 0).allowed);
  auto denied = rl.take("k", b, 1, 0);
  EXPECT_FALSE(denied.allowed);
  EXPECT_NEAR(denied.retry_after_s, 1.0, 1e-9);
  EXPECT_FALSE(rl.take("k", b, 1, 0.5).allowed);
  EXPECT_TRUE(rl.take("k", b, 1, 1.6).allowed);
  EXPECT_TRUE(rl.take("other", b, 1, 1.6).allowed) << "keys are independent";
}

TEST(RateLimiter, NeverExceedsBurstAfterIdle) {
  RateLimiter rl;
  RateBudget b{2, 1};
  rl.take("k", b, 1, 0);
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += rl.take("k", b, 1, 1000).allowed;
  EXPECT_EQ(allowed, 2);
}

TEST(RateLimiter, ManyKeysAreBounded) {
  RateLimiter rl(1000);
  RateBudget b{5, 1};
  for (int i = 0; i < 10000; ++i) rl.take("ip" + std::to_string(i), b, 1, i * 0.001);
  EXPECT_LE(rl.size(), 1000u);
}

TEST(RateLimiter, PeekTakesNothingAndForgetRefills) {
  RateLimiter rl;
  RateBudget b{2, 2};  // one token per second
  EXPECT_TRUE(rl.peek("k", b, 1, 0).allowed);
  EXPECT_EQ(rl.size(), 0u) << "peek creates no bucket";
  rl.take("k", b, 1, 0);
  rl.take("k", b, 1, 0);
  auto p = rl.peek("k", b, 1, 0.25);
  EXPECT_FALSE(p.allowed);
  EXPECT_NEAR(p.retry_after_s, 0.75, 1e-9);
  EXPECT_FALSE(rl.peek("k", b, 1, 0.25).allowed) << "peeking twice changes nothing";
  EXPECT_TRUE(rl.peek("k", b, 1, 1.0).allowed);
  EXPECT_FALSE(rl.peek("k", b, 2, 1.0).allowed) << "a full bucket is asked for with cost = burst";
  rl.forget("k");
  EXPECT_TRUE(rl.peek("k", b, 2, 0).allowed);
}
