// Which simulcast layers must run at the publisher: only the lowest without watchers, one
// above the highest demand otherwise (every layer for an unknown estimate), resumes at once,
// pauses after the hold and at most once a second.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "sfu/layer_pause.hpp"

using namespace hype::sfu;

namespace {

std::uint32_t want(std::vector<int> demands, std::size_t layers = 3) {
  return wanted_layers(layers, demands);
}

TEST(LayerPause, NoWatcherRunsOnlyTheLowestLayer) {
  EXPECT_EQ(want({}), 0b001u);
  EXPECT_EQ(want({}, 1), 0b1u);
  EXPECT_EQ(want({}, 0), 0u);
}

TEST(LayerPause, WatchersKeepOneLayerAboveTheHighestDemandCappedAtTheTop) {
  EXPECT_EQ(want({-1}), 0b011u);  // a new watcher, no layer yet: counted as on the lowest
  EXPECT_EQ(want({0}), 0b011u);
  EXPECT_EQ(want({0, 0, 0}), 0b011u);
  EXPECT_EQ(want({1}), 0b111u);
  EXPECT_EQ(want({0, 2}), 0b111u);
  EXPECT_EQ(want({2}), 0b111u);
  EXPECT_EQ(want({1}, 4), 0b0111u);
}

TEST(LayerPause, AnUnknownEstimateKeepsEveryLayer) {
  EXPECT_EQ(want({0, kDemandTop}), 0b111u);
  EXPECT_EQ(want({kDemandTop}, 2), 0b11u);
}

TEST(LayerPause, ALayerInUseIsNeverPaused) {
  // Whatever any watcher forwards or targets is in the wanted set (and so never paused).
  for (std::size_t n = 1; n <= 4; ++n)
    for (int a = -1; a < static_cast<int>(n); ++a)
      for (int b = -1; b < static_cast<int>(n); ++b) {
        std::uint32_t w = want({a, b}, n);
        for (int d : {a, b}) {
          if (d >= 0) {
            EXPECT_TRUE(w >> d & 1u) << n << " " << a << " " << b;
          }
        }
        EXPECT_TRUE(w & 1u);
      }
}

TEST(LayerPause, StartsWithEveryLayerRunningAndPausesAfterTheHold) {
  LayerPauser p(3);
  EXPECT_EQ(p.running(), 0b111u);
  EXPECT_FALSE(p.update(0b001, 0));
  EXPECT_FALSE(p.update(0b001, LayerPauser::kPauseHoldMs - 1));
  EXPECT_TRUE(p.update(0b001, LayerPauser::kPauseHoldMs));
  EXPECT_EQ(p.running(), 0b001u);
  EXPECT_FALSE(p.update(0b001, LayerPauser::kPauseHoldMs + 100));
}

TEST(LayerPause, AResumeIsImmediateAndABriefDipPausesNothing) {
  LayerPauser p(3);
  p.update(0b001, 0);
  ASSERT_TRUE(p.update(0b001, 5000));
  ASSERT_EQ(p.running(), 0b001u);
  // Wanted again: resumed at once, even right after the last change.
  EXPECT_TRUE(p.update(0b111, 5010));
  EXPECT_EQ(p.running(), 0b111u);
  // Unwanted for less than the hold, wanted again: the encoder is never toggled.
  for (std::int64_t t = 5100; t < 9000; t += 100) EXPECT_FALSE(p.update(0b011, t));
  EXPECT_FALSE(p.update(0b111, 9000));
  for (std::int64_t t = 9100; t < 14000; t += 100) EXPECT_FALSE(p.update(0b011, t));
  EXPECT_EQ(p.running(), 0b111u);
  EXPECT_TRUE(p.update(0b011, 14100));
  EXPECT_EQ(p.running(), 0b011u);
}

TEST(LayerPause, PausesGoOutAtMostOncePerInterval) {
  LayerPauser p(3);
  // f unwanted since 0, h since 400: f is due at 5000 and h at 5400, but a change went out at
  // 5000, so h waits for the interval.
  p.update(0b011, 0);
  p.update(0b001, 400);
  ASSERT_TRUE(p.update(0b001, 5000));
  EXPECT_EQ(p.running(), 0b011u);
  EXPECT_FALSE(p.update(0b001, 5400));
  EXPECT_FALSE(p.update(0b001, 5900));
  EXPECT_TRUE(p.update(0b001, 6000));
  EXPECT_EQ(p.running(), 0b001u);
}

TEST(LayerPause, TheLowestLayerIsResumedIfEverWantedAndNeverPausedByTheRule) {
  LayerPauser p(2);
  for (std::int64_t t = 0; t < 20000; t += 100) p.update(want({}, 2), t);
  EXPECT_EQ(p.running(), 0b01u);
}

}  // namespace
