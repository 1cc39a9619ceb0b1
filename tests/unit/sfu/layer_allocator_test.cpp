// The per-viewer simulcast layer allocator: lowest layers first, then by priority; unknown
// budget = highest live layer; dead layers skipped; the up-switch hold; temporal layers
// dropped before spatial ones; spatial layers not allowed (a held up-switch) skipped.
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
  std::array<LayerChoice, 1> out{};
  allocate_layers(0, s, out);
  EXPECT_EQ(out[0].spatial, 1);
}

TEST(LayerAllocator, OneStreamGetsTheHighestLayerThatFits) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  std::array<StreamDemand, 1> s{StreamDemand{0, a}};
  std::array<LayerChoice, 1> out{};
  allocate_layers(10'000'000, s, out);
  EXPECT_EQ(out[0].spatial, 2);
  allocate_layers(4'000'000, s, out);
  EXPECT_EQ(out[0].spatial, 1);
  allocate_layers(1'500'000, s, out);
  EXPECT_EQ(out[0].spatial, 0);
  allocate_layers(100'000, s, out);  // nothing fits: still the lowest (a picture)
  EXPECT_EQ(out[0].spatial, 0);
}

TEST(LayerAllocator, GoingUpNeedsAMarginStayingDoesNot) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  std::array<StreamDemand, 1> s{StreamDemand{0, a, 0}};
  std::array<LayerChoice, 1> out{};
  allocate_layers(2'700'000, s, out);  // 2.5 M * 1.15 = 2.875 M does not fit: stay low
  EXPECT_EQ(out[0].spatial, 0);
  allocate_layers(2'900'000, s, out);
  EXPECT_EQ(out[0].spatial, 1);
  s[0].current = 1;  // already there: 2.7 M keeps it
  allocate_layers(2'700'000, s, out);
  EXPECT_EQ(out[0].spatial, 1);
  allocate_layers(2'400'000, s, out);  // below its rate: down
  EXPECT_EQ(out[0].spatial, 0);
}

TEST(LayerAllocator, EveryStreamAtItsLowestBeforeAnyGetsMoreThenByPriority) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  auto b = ladder(500'000, 2'500'000, 8'000'000);
  // b is focused (higher priority): with 4 Mbit/s, both lowest (1M) then b to its middle.
  std::array<StreamDemand, 2> s{StreamDemand{0, a}, StreamDemand{5, b}};
  std::array<LayerChoice, 2> out{};
  allocate_layers(4'000'000, s, out);
  EXPECT_EQ(out[0].spatial, 0);
  EXPECT_EQ(out[1].spatial, 1);
  // With 6 Mbit/s both get their middle layer.
  allocate_layers(6'000'000, s, out);
  EXPECT_EQ(out[0].spatial, 1);
  EXPECT_EQ(out[1].spatial, 1);
  // 1 Mbit/s: both at the lowest, nobody more.
  allocate_layers(1'000'000, s, out);
  EXPECT_EQ(out[0].spatial, 0);
  EXPECT_EQ(out[1].spatial, 0);
}

TEST(LayerAllocator, DeadLayersAreSkippedAndNoLiveLayerGivesMinusOne) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);
  a[0].live = false;
  a[1].live = false;
  std::array<LayerRate, 3> none{};
  std::array<StreamDemand, 2> s{StreamDemand{0, a}, StreamDemand{0, none}};
  std::array<LayerChoice, 2> out{};
  allocate_layers(1'000'000, s, out);
  EXPECT_EQ(out[0].spatial, 2);  // the only live layer, even over budget
  EXPECT_EQ(out[1].spatial, -1);
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

// Three spatial layers of three temporal layers each (VP8 L1T3: T0 40 %, T0+T1 60 %).
std::array<LayerRate, 3> temporal_ladder(std::uint64_t low, std::uint64_t mid, std::uint64_t high) {
  auto layer = [](std::uint64_t bps) {
    return LayerRate{bps, true, 3, {bps * 4 / 10, bps * 6 / 10, bps, 0}};
  };
  return {layer(low), layer(mid), layer(high)};
}

TEST(LayerAllocator, TemporalLayersAreDroppedBeforeTheSpatialLayer) {
  auto a = temporal_ladder(500'000, 2'500'000, 8'000'000);
  std::array<StreamDemand, 1> s{StreamDemand{0, a, 2, -1}};  // on the top layer, whole
  std::array<LayerChoice, 1> out{};
  allocate_layers(10'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{2, -1}));
  // 6 Mbit/s: the top layer's T0+T1 (4.8 M) rather than the middle layer whole (2.5 M).
  allocate_layers(6'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{2, 1}));
  // 4 Mbit/s: T0 of the top layer (3.2 M).
  allocate_layers(4'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{2, 0}));
  // 3 Mbit/s: even T0 of the top does not fit: the middle layer whole.
  allocate_layers(3'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{1, -1}));
  // 200 kbit/s: nothing fits; the lowest step is the lowest layer's T0.
  allocate_layers(200'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{0, 0}));
  // Unknown budget: the highest live layer, whole.
  allocate_layers(0, s, out);
  EXPECT_EQ(out[0], (LayerChoice{2, -1}));
}

TEST(LayerAllocator, TemporalStepsUpNeedTheMarginToo) {
  auto a = temporal_ladder(500'000, 2'500'000, 8'000'000);
  // On the top layer's T0 (3.2 M); T0+T1 is 4.8 M, 5.52 M with the margin.
  std::array<StreamDemand, 1> s{StreamDemand{0, a, 2, 0}};
  std::array<LayerChoice, 1> out{};
  allocate_layers(5'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{2, 0}));
  allocate_layers(5'600'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{2, 1}));
  // On T0+T1 already: 5 M keeps it.
  s[0].current_temporal = 1;
  allocate_layers(5'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{2, 1}));
}

TEST(LayerAllocator, ALayerWithoutTemporalLayersIsOneStep) {
  auto a = ladder(500'000, 2'500'000, 8'000'000);  // temporal_layers 0
  a[1].temporal_layers = 1;                        // one temporal layer: the same
  std::array<StreamDemand, 1> s{StreamDemand{0, a}};
  std::array<LayerChoice, 1> out{};
  allocate_layers(4'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{1, -1}));
  allocate_layers(100'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{0, -1}));
}

TEST(LayerAllocator, ALayerNotAllowedIsSkippedButTheLowestAlwaysGiven) {
  auto a = temporal_ladder(500'000, 2'500'000, 8'000'000);
  // An up-switch held on the middle layer: the top is not allowed, whatever the budget.
  std::array<StreamDemand, 1> s{StreamDemand{0, a, 1, -1, 0b011}};
  std::array<LayerChoice, 1> out{};
  allocate_layers(20'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{1, -1}));
  // The lowest live layer is given even when its bit is off.
  s[0].allowed = 0;
  allocate_layers(20'000'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{0, -1}));
}

TEST(LayerAllocator, TwoStreamsShareTemporalStepsByPriority) {
  auto a = temporal_ladder(500'000, 2'500'000, 8'000'000);
  auto b = temporal_ladder(500'000, 2'500'000, 8'000'000);
  std::array<StreamDemand, 2> s{StreamDemand{0, a}, StreamDemand{5, b}};
  std::array<LayerChoice, 2> out{};
  // 4 Mbit/s: both at their lowest step (T0 of the lowest layer, 0.2 M each), then b,
  // focused, gets the highest step that fits in the 3.6 M left: T0 of its top layer (3.2 M,
  // 3.68 M with the margin); a gets nothing more (0.12 M left).
  allocate_layers(4'000'000, s, out);
  EXPECT_EQ(out[1], (LayerChoice{2, 0}));
  EXPECT_EQ(out[0], (LayerChoice{0, 0}));
  // 6 Mbit/s: b its top layer's T0+T1 (4.8 M, 5.52 M with the margin), a with the 0.28 M
  // left its lowest layer's T0+T1 (0.3 M, 0.345 M with the margin).
  allocate_layers(6'000'000, s, out);
  EXPECT_EQ(out[1], (LayerChoice{2, 1}));
  EXPECT_EQ(out[0], (LayerChoice{0, 1}));
}

TEST(LayerAllocator, NoTemporalStepBelowTheFrameRateFloor) {
  auto a = temporal_ladder(500'000, 2'500'000, 8'000'000);
  a[0].temporal_fps = {3.75, 7.5, 15, 0};  // the lowest layer runs at 15 fps
  a[1].temporal_fps = {7.5, 15, 30, 0};
  a[2].temporal_fps = {7.5, 15, 30, 0};
  std::array<StreamDemand, 1> s{StreamDemand{0, a, 0, -1}};
  std::array<LayerChoice, 1> out{};
  // Nothing fits: the lowest step is T0+T1 of the lowest layer (7.5 fps), not T0 (3.75).
  allocate_layers(100'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{0, 1}));
  // 0.45 M: the lowest layer whole (0.575 M with the margin) does not fit; T0+T1 it is.
  allocate_layers(450'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{0, 1}));
  // The middle layer's T0 at 7.5 fps is offered (1 M, 1.15 M with the margin).
  allocate_layers(1'200'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{1, 0}));
}

// A CPU-bound encoder's 20 fps top layer: its T0 alone (5 fps, 200 ms between frames) would be
// a freeze to the viewer the moment the layer drops to it (Chromium: an interval over max(3 x
// 50, 50 + 150) ms), so it is not offered; T0+T1 (10 fps) is. At 30 fps the T0 (7.5 fps) is.
TEST(LayerAllocator, NoTemporalStepWhoseIntervalCountsAsAFreeze) {
  auto a = temporal_ladder(500'000, 2'500'000, 6'000'000);
  a[0].temporal_fps = {3.75, 7.5, 15, 0};
  a[1].temporal_fps = {7.5, 15, 30, 0};
  a[2].temporal_fps = {5, 10, 20, 0};
  std::array<StreamDemand, 1> s{StreamDemand{2, a, 2, -1}};
  std::array<LayerChoice, 1> out{};
  // 2.8 M: the top layer's T0 (2.4 M) would fit, its T0+T1 (3.6 M) does not: the middle layer
  // whole (2.5 M) instead.
  allocate_layers(2'800'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{1, -1}));
  a[2].temporal_fps = {6.25, 12.5, 25, 0};  // 160 ms against max(120, 190) - 40: not offered
  allocate_layers(2'800'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{1, -1}));
  a[2].temporal_fps = {7.5, 15, 30, 0};  // 133 ms against 183 - 40: offered
  allocate_layers(2'800'000, s, out);
  EXPECT_EQ(out[0], (LayerChoice{2, 0}));
}

// Frame rates are measured in 500 ms windows: a 30 fps layer's T0 may read 6.5 fps for a while
// (154 ms, over the 143 ms line). A viewer already on that step keeps it (20 ms of slack); one
// moving down to it does not take it.
TEST(LayerAllocator, TheCurrentTemporalStepKeepsSlackAtTheFreezeLine) {
  auto a = temporal_ladder(500'000, 2'500'000, 8'000'000);
  a[2].temporal_fps = {6.5, 15, 30, 0};
  std::array<LayerChoice, 1> out{};
  std::array<StreamDemand, 1> on_t0{StreamDemand{0, a, 2, 0}};
  allocate_layers(3'500'000, on_t0, out);
  EXPECT_EQ(out[0], (LayerChoice{2, 0}));
  std::array<StreamDemand, 1> on_all{StreamDemand{0, a, 2, -1}};
  allocate_layers(3'500'000, on_all, out);
  EXPECT_EQ(out[0], (LayerChoice{1, -1}));
}

// The same slack for the lowest step: a weak viewer on the lowest layer's T0 stays there.
TEST(LayerAllocator, TheLowestStepKeepsSlackAtTheFreezeLineToo) {
  auto a = temporal_ladder(500'000, 2'500'000, 8'000'000);
  a[0].temporal_fps = {6.5, 15, 30, 0};
  std::array<LayerChoice, 1> out{};
  std::array<StreamDemand, 1> on_t0{StreamDemand{0, a, 0, 0}};
  allocate_layers(100'000, on_t0, out);
  EXPECT_EQ(out[0], (LayerChoice{0, 0}));
  std::array<StreamDemand, 1> new_viewer{StreamDemand{0, a, -1, -1}};
  allocate_layers(100'000, new_viewer, out);
  EXPECT_EQ(out[0], (LayerChoice{0, 1}));
}

}  // namespace
