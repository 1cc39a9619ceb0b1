// The send-side bandwidth estimator against the synthetic bottleneck of bwe_sim.hpp:
// convergence, capacity steps, random loss, a loss burst, reordered / duplicated feedback
// and 16-bit wrap. Thresholds are the acceptance criteria; nothing is hard-coded
// from a previous run.
#include <gtest/gtest.h>

#include <cstdio>

#include "unit/rtc/bwe_sim.hpp"

using namespace hype::rtc::bwe;
using namespace hype::rtc::bwe::testing;

namespace {

void dump(const char* name, const SimResult& r) {
  if (!std::getenv("BWE_DUMP")) return;
  for (const Sample& s : r.samples)
    std::printf("%s %.1f %.3f\n", name, static_cast<double>(s.t_us) / 1e6,
                static_cast<double>(s.target_bps) / 1e6);
}

}  // namespace

class BweConverges : public ::testing::TestWithParam<double> {};

TEST_P(BweConverges, SteadyStateWithinEightyToHundredTenPercent) {
  SimConfig cfg;
  double c = GetParam();
  cfg.capacity_bps = [c](std::int64_t) { return c; };
  SimResult r = simulate(cfg);
  dump("conv", r);
  double mean = r.mean(10, 30);
  EXPECT_GE(mean, 0.8 * c);
  EXPECT_LE(mean, 1.1 * c);
  std::printf("capacity %.2f Mbps: mean %.3f Mbps, probes %zu\n", c / 1e6, mean / 1e6, r.probes);
}

INSTANTIATE_TEST_SUITE_P(Capacities, BweConverges, ::testing::Values(1e6, 2.5e6, 5e6, 10e6));

TEST(BweSim, CapacitySteps) {
  SimConfig cfg;
  cfg.duration_us = 40'000'000;
  cfg.capacity_bps = [](std::int64_t t) {
    if (t < 10'000'000) return 10e6;
    if (t < 20'000'000) return 4e6;
    if (t < 30'000'000) return 1.5e6;
    return 10e6;
  };
  SimResult r = simulate(cfg);
  dump("steps", r);
  EXPECT_GE(r.mean(7, 10), 0.8 * 10e6);
  double t1 = r.first_time(10, 12, [](double b) { return b < 1.1 * 4e6; });
  double t2 = r.first_time(20, 22, [](double b) { return b < 1.1 * 1.5e6; });
  double t3 = r.first_time(30, 35, [](double b) { return b >= 0.8 * 10e6; });
  std::printf("below 4.4 at %.1f, below 1.65 at %.1f, above 8 at %.1f\n", t1, t2, t3);
  EXPECT_GE(t1, 10);  // -1 when it never got there
  EXPECT_GE(t2, 20);
  EXPECT_GE(t3, 30);
  // And it stays there: no oscillation back above the cut, no fall back after recovery.
  EXPECT_LE(r.mean(12, 20), 1.1 * 4e6);
  EXPECT_GE(r.mean(12, 20), 0.7 * 4e6);
  EXPECT_LE(r.mean(22, 30), 1.1 * 1.5e6);
  EXPECT_GE(r.mean(22, 30), 0.7 * 1.5e6);
  EXPECT_GE(r.mean(35, 40), 0.8 * 10e6);
}

TEST(BweSim, RandomLossWithoutQueuingDoesNotDragItDown) {
  // A link far faster than the max: no queue ever forms; 1 % of packets vanish.
  SimConfig cfg;
  cfg.options.max_bps = 5'000'000;
  cfg.capacity_bps = [](std::int64_t) { return 50e6; };
  SimConfig lossy = cfg;
  lossy.loss = [](std::int64_t) { return 0.01; };
  SimResult clean = simulate(cfg), r = simulate(lossy);
  dump("loss1", r);
  EXPECT_GE(clean.mean(5, 30), 0.95 * 5e6);
  EXPECT_GE(r.mean(5, 30), 0.9 * clean.mean(5, 30));
  EXPECT_GE(r.mean(5, 30), 0.8 * 5e6);
  // Not even a dip: no interval read as heavy loss.
  EXPECT_LT(r.first_time(5, 30, [](double b) { return b < 0.8 * 5e6; }), 0);
  EXPECT_LT(r.max_loss_fraction, LossBasedBound::kHighLoss);
  EXPECT_GT(r.max_loss_fraction, 0.0);  // the losses were seen
}

TEST(BweSim, LossBurstLowersItAndItRecovers) {
  SimConfig cfg;
  cfg.capacity_bps = [](std::int64_t) { return 5e6; };
  cfg.loss = [](std::int64_t t) { return t >= 15'000'000 && t < 16'000'000 ? 0.2 : 0.0; };
  SimResult r = simulate(cfg);
  dump("burst", r);
  double before = r.mean(12, 15);
  EXPECT_GE(before, 0.8 * 5e6);
  // Lowered: during and just after the burst, well under what it was (20 % loss is at
  // least two x0.9 steps of the loss bound in a second).
  EXPECT_LT(r.min(15, 17), 0.85 * before);
  EXPECT_GE(r.max_loss_fraction, 0.1);
  // Recovered within a few seconds of the burst's end.
  EXPECT_GE(r.first_time(16, 21, [](double b) { return b >= 0.8 * 5e6; }), 16);
  EXPECT_GE(r.mean(22, 30), 0.8 * 5e6);
}

TEST(BweSim, ReorderedFeedbackGivesTheSameResultAsOrdered) {
  SimConfig cfg;
  cfg.capacity_bps = [](std::int64_t) { return 5e6; };
  SimConfig swapped = cfg;
  swapped.mode = FeedbackMode::kReorderedPairs;
  SimResult a = simulate(cfg), b = simulate(swapped);
  dump("reord", b);
  // Each even feedback came after the next one: its packets are older than what the delay
  // filter already saw, so only the acked rate and loss use them; the outcome must not move.
  EXPECT_NEAR(b.mean(10, 30), a.mean(10, 30), 0.05 * a.mean(10, 30));
  EXPECT_GT(b.min(10, 30), 0.6 * 5e6);  // no collapse on a half-reported acked window
  EXPECT_GE(b.mean(10, 30), 0.8 * 5e6);
  EXPECT_LE(b.mean(10, 30), 1.1 * 5e6);
  EXPECT_EQ(b.max_loss_fraction, 0.0);  // reordering is no loss
}

TEST(BweSim, LostFeedbackDoesNotStallIt) {
  SimConfig cfg;
  cfg.capacity_bps = [](std::int64_t t) { return t < 15'000'000 ? 5e6 : 2.5e6; };
  cfg.mode = FeedbackMode::kEverySeventhLost;
  SimResult r = simulate(cfg);
  dump("fblost", r);
  // Packets whose feedback never came are neither received nor lost, and the rate keeps
  // being updated (the gap they leave is waited for at most kMaxGapWaitUs): it follows the
  // capacity cut.
  EXPECT_GE(r.mean(8, 15), 0.8 * 5e6);
  EXPECT_LE(r.mean(8, 15), 1.1 * 5e6);
  EXPECT_GE(r.first_time(15, 17, [](double b) { return b < 1.1 * 2.5e6; }), 15);
  EXPECT_GE(r.mean(18, 30), 0.8 * 2.5e6);
  EXPECT_LE(r.mean(18, 30), 1.1 * 2.5e6);
}

TEST(BweSim, DuplicatedFeedbackIsIgnored) {
  SimConfig cfg;
  cfg.capacity_bps = [](std::int64_t) { return 5e6; };
  cfg.loss = [](std::int64_t t) { return t >= 15'000'000 && t < 16'000'000 ? 0.2 : 0.0; };
  SimConfig twice = cfg;
  twice.mode = FeedbackMode::kDuplicated;
  SimResult a = simulate(cfg), b = simulate(twice);
  EXPECT_EQ(b.stats.feedbacks, 2 * a.stats.feedbacks);
  EXPECT_EQ(b.stats.ignored, a.stats.ignored + a.stats.results);
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (std::size_t i = 0; i < a.samples.size(); ++i)
    ASSERT_EQ(a.samples[i].target_bps, b.samples[i].target_bps) << "at sample " << i;
}

TEST(BweSim, SixteenBitWrapChangesNothing) {
  SimConfig cfg;
  cfg.duration_us = 20'000'000;  // about 10k packets at 5 Mbps: the run wraps
  cfg.capacity_bps = [](std::int64_t) { return 5e6; };
  cfg.first_seq = 0;
  SimConfig wrapping = cfg;
  wrapping.first_seq = 65'500;
  SimConfig late = cfg;
  late.first_seq = 58'000;
  SimResult a = simulate(cfg), b = simulate(wrapping), c = simulate(late);
  EXPECT_GT(a.stats.results, 8'000u);  // crossed 65535 from 58000 too
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (std::size_t i = 0; i < a.samples.size(); ++i) {
    ASSERT_EQ(a.samples[i].target_bps, b.samples[i].target_bps) << "at sample " << i;
    ASSERT_EQ(a.samples[i].target_bps, c.samples[i].target_bps) << "at sample " << i;
  }
  EXPECT_GE(b.mean(10, 20), 0.8 * 5e6);
}

TEST(BweSim, AnAppLimitedSendersMediaShowsWhatThePathDelivers) {
  // The SFU forwards what the streams produce: 3 Mbps on a 10 Mbps link, no probing.
  SimConfig cfg;
  cfg.duration_us = 10'000'000;
  cfg.options.probing = false;
  cfg.app_rate_bps = 3e6;
  cfg.capacity_bps = [](std::int64_t) { return 10e6; };
  SimResult r = simulate(cfg);
  dump("app", r);
  EXPECT_GE(r.first_time(0, 2, [](double b) { return b >= 0.9 * 3e6; }), 0);
  EXPECT_GE(r.mean(3, 10), 0.9 * 3e6);
  EXPECT_LE(r.mean(3, 10), 1.5 * 3e6 + 10'000);  // no more than it has seen
}

TEST(BweSim, AnAppLimitedSenderAboveACutSeesItFast) {
  // The viewer's layer (2.3 Mbps) on a link that drops from 10 to 1.5 Mbps (a 150 ms queue):
  // the allocator must learn it within a few hundred ms to switch before the queue drops.
  SimConfig cfg;
  cfg.duration_us = 14'000'000;
  cfg.app_rate_bps = 2.3e6;
  cfg.queue_bytes = 28'000;
  cfg.capacity_bps = [](std::int64_t t) { return t < 10'000'000 ? 10e6 : 1.5e6; };
  SimResult r = simulate(cfg);
  dump("appcut", r);
  const double t = r.first_time(10, 14, [](double b) { return b < 2.3e6; });
  std::printf("below the sender's rate %.2f s after the cut\n", t - 10);
  EXPECT_GE(t, 10);
  EXPECT_LE(t, 11);  // the "down within 1-2 s" leaves the switch its keyframe's time
}
