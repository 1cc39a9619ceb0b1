// The per-viewer simulcast layer allocator: lowest layers first, then by priority; unknown
// budget = highest live layer; dead layers skipped; the up-switch hold.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "sfu/layer_allocator.hpp"

using namespace hype::sfu;

namespace {

std::array<LayerRate, 3> ladder(std::uint64_t low, std::uint64_t mid, std::uint64_t high) {
  return {LayerRate{low, true}, LayerRate{mid, true}, LayerRate{high, true}};
}

TEST(LayerAllocator, UnknownBudgetTakesTheHighestLiveLayer) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  a[2].live = false;
  std::array<StreamDemand, 1> s{StreamDemand{0, a}};
  std::array<int, 1> out{};
  allocate_layers(0, s, out);
  EXPECT_EQ(out[0], 1);
}

TEST(LayerAllocator, OneStreamGetsTheHighestLayerThatFits) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  std::array<StreamDemand, 1> s{StreamDemand{0, a}};
  std::array<int, 1> out{};
  allocate_layers(10'000'000, s, out);
  EXPECT_EQ(out[0], 2);
  allocate_layers(4'000'000, s, out);
  EXPECT_EQ(out[0], 1);
  allocate_layers(1'500'000, s, out);
  EXPECT_EQ(out[0], 0);
  allocate_layers(100'000, s, out);  // nothing fits: still the lowest (a picture)
  EXPECT_EQ(out[0], 0);
}

TEST(LayerAllocator, GoingUpNeedsAMarginStayingDoesNot) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  std::array<StreamDemand, 1> s{StreamDemand{0, a, 0}};
  std::array<int, 1> out{};
  allocate_layers(2'700'000, s, out);  // 2.5 M * 1.15 = 2.875 M does not fit: stay low
  EXPECT_EQ(out[0], 0);
  allocate_layers(2'900'000, s, out);
  EXPECT_EQ(out[0], 1);
  s[0].current = 1;  // already there: 2.7 M keeps it
  allocate_layers(2'700'000, s, out);
  EXPECT_EQ(out[0], 1);
  allocate_layers(2'400'000, s, out);  // below its rate: down
  EXPECT_EQ(out[0], 0);
}

TEST(LayerAllocator, EveryStreamAtItsLowestBeforeAnyGetsMoreThenByPriority) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  auto b = ladder(500'000, 2'500'000, 8'000'000);
  // b is focused (higher priority): with 4 Mbit/s, both lowest (1M) then b to its middle.
  std::array<StreamDemand, 2> s{StreamDemand{0, a}, StreamDemand{5, b}};
  std::array<int, 2> out{};
  allocate_layers(4'000'000, s, out);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 1);
  // With 6 Mbit/s both get their middle layer.
  allocate_layers(6'000'000, s, out);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 1);
  // 1 Mbit/s: both at the lowest, nobody more.
  allocate_layers(1'000'000, s, out);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 0);
}

TEST(LayerAllocator, DeadLayersAreSkippedAndNoLiveLayerGivesMinusOne) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  a[0].live = false;
  a[1].live = false;
  std::array<LayerRate, 3> none{};
  std::array<StreamDemand, 2> s{StreamDemand{0, a}, StreamDemand{0, none}};
  std::array<int, 2> out{};
  allocate_layers(1'000'000, s, out);
  EXPECT_EQ(out[0], 2);  // the only live layer, even over budget
  EXPECT_EQ(out[1], -1);
}

TEST(LayerAllocator, UpSwitchHold) {
  EXPECT_TRUE(may_switch_up(1000, -1, 1'000'000, 0));
  EXPECT_FALSE(may_switch_up(5000, 1000, 1'500'000, 1'000'000));
  EXPECT_TRUE(may_switch_up(5000, 1000, 2'000'000, 1'000'000));
  EXPECT_TRUE(may_switch_up(1000 + kUpSwitchHoldMs, 1000, 1'000'000, 1'000'000));
  EXPECT_FALSE(may_switch_up(5000, 1000, 0, 1'000'000));  // unknown budget doubles nothing
  // The last up-switch was made with no estimate (highest live layer): no hold.
  EXPECT_TRUE(may_switch_up(5000, 1000, 1'000'000, 0));
}

}  // namespace
