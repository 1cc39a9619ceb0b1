// The send-side bandwidth estimator's pieces one by one (send history, acked bitrate, packet
// groups, trendline, overuse detector, AIMD, loss bound, probing), and SendSideBwe fed
// garbage: unknown sequence numbers, all-lost feedback, zero sizes, absurd times.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "rtc/bwe/acked_bitrate.hpp"
#include "rtc/bwe/aimd_rate_control.hpp"
#include "rtc/bwe/inter_arrival.hpp"
#include "rtc/bwe/loss_based.hpp"
#include "rtc/bwe/overuse_detector.hpp"
#include "rtc/bwe/probe_controller.hpp"
#include "rtc/bwe/probe_estimator.hpp"
#include "rtc/bwe/send_history.hpp"
#include "rtc/bwe/send_side_bwe.hpp"
#include "rtc/bwe/trendline.hpp"

using namespace hype::rtc;
using namespace hype::rtc::bwe;

TEST(BweSendHistory, FindsAcrossTheWrapAndForgetsOldOrUnknown) {
  SendHistory h;
  EXPECT_EQ(h.find(0), nullptr);
  for (int i = 0; i < 100; ++i) {
    h.add(static_cast<std::uint16_t>(65500 + i), 100 + i, 1000 * i, i % 2 ? 3 : -1);
  }
  SentPacket* p = h.find(65535);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->bytes, 135u);
  EXPECT_EQ(p->send_us, 35'000);
  ASSERT_NE(h.find(10), nullptr);  // 65500 + 46, after the wrap
  EXPECT_EQ(h.find(10)->bytes, 146u);
  EXPECT_EQ(h.find(10)->probe_cluster, -1);
  EXPECT_EQ(h.find(11)->probe_cluster, 3);
  EXPECT_EQ(h.find(100), nullptr);    // not sent yet
  EXPECT_EQ(h.find(30000), nullptr);  // far away
  EXPECT_EQ(h.find(65400), nullptr);  // before the first
  // Older than kMaxAgeUs behind the newest send: unknown.
  h.add(44, 10, 1000 * 99 + SendHistory::kMaxAgeUs + 1, -1);
  EXPECT_EQ(h.find(65500), nullptr);
  EXPECT_NE(h.find(44), nullptr);
  // Overwritten by the ring.
  SendHistory r;
  for (std::uint32_t i = 0; i < SendHistory::kCapacity + 10; ++i) {
    r.add(static_cast<std::uint16_t>(i), 1, i, -1);
  }
  EXPECT_EQ(r.find(5), nullptr);
  EXPECT_NE(r.find(10), nullptr);
}

TEST(BweAckedBitrate, RateOverTheWindow) {
  AckedBitrate a;
  EXPECT_FALSE(a.bps());
  // 1000 bytes every ms for 1 s: 8 Mbps.
  for (int i = 0; i < 1000; ++i) a.add(1'000'000 + i * 1000, 1000);
  ASSERT_TRUE(a.bps());
  EXPECT_NEAR(static_cast<double>(*a.bps()), 8e6, 0.05 * 8e6);
  // Half the rate from then on: after a window it reads 4 Mbps.
  for (int i = 0; i < 500; ++i) a.add(2'000'000 + i * 2000, 1000);
  EXPECT_NEAR(static_cast<double>(*a.bps()), 4e6, 0.05 * 4e6);
  // Too old to count; a long gap empties it.
  std::uint64_t before = *a.bps();
  a.add(0, 1'000'000);
  EXPECT_EQ(*a.bps(), before);
  a.add(100'000'000, 1000);
  EXPECT_LT(*a.bps(), 100'000u);
}

TEST(BweAckedBitrate, StartIsNotABurst) {
  AckedBitrate a;
  a.add(-5'000, 10'000);  // negative arrival times (reference time sign) are fine
  a.add(-4'000, 10'000);
  // Two packets 1 ms apart do not read as 160 Mbps: the span is at least kMinSpanBuckets.
  EXPECT_LE(*a.bps(),
            20'000ull * 8 * 1'000'000 / (AckedBitrate::kMinSpanBuckets * AckedBitrate::kBucketUs));
}

TEST(BweInterArrival, GroupsBurstsAndReportsDeltas) {
  InterArrival ia;
  GroupDelta d;
  // Group 1: sent 0..4 ms; group 2: 10..14 ms; group 3 starts at 20 ms.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(ia.add(i * 1000, 50'000 + i * 1000, d));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(ia.add(10'000 + i * 1000, 60'000 + i * 1500, d));
  ASSERT_TRUE(ia.add(20'000, 80'000, d));
  EXPECT_EQ(d.send_delta_us, 10'000);       // 14 ms - 4 ms
  EXPECT_EQ(d.arrival_delta_us, 12'000);    // 66 ms - 54 ms
  EXPECT_FALSE(ia.add(5'000, 90'000, d));   // sent before the current group: dropped
  EXPECT_FALSE(ia.add(21'000, 80'500, d));  // same group
  // A clock jump resets instead of reporting a 10 s delay (when its group completes).
  EXPECT_TRUE(ia.add(30'000, 10'080'000, d));
  EXPECT_FALSE(ia.add(40'000, 10'090'000, d));
  EXPECT_EQ(ia.resets(), 1u);
}

TEST(BweTrendline, SlopeFollowsAGrowingQueue) {
  Trendline flat, growing;
  for (int i = 0; i < 40; ++i) {
    flat.update(5, 5, 1'000'000 + i * 5000);
    growing.update(5, 6, 1'000'000 + i * 6000);  // 1 ms more queue every group
  }
  EXPECT_NEAR(flat.modified_trend(), 0, 1e-9);
  EXPECT_GT(growing.slope(), 0.05);
  EXPECT_GT(growing.modified_trend(), OveruseDetector::kInitialThreshold);
}

TEST(BweOveruseDetector, OveruseMustPersistAndThresholdAdapts) {
  OveruseDetector d;
  std::int64_t t = 0;
  // One group above the threshold is not enough.
  EXPECT_EQ(d.detect(20, 5, 10, t += 5000), BandwidthUsage::kNormal);
  EXPECT_EQ(d.detect(20, 5, 10, t += 5000), BandwidthUsage::kNormal);  // 7.5 ms over
  EXPECT_EQ(d.detect(21, 5, 10, t += 5000), BandwidthUsage::kOverusing);
  EXPECT_EQ(d.detect(-20, 5, 10, t += 5000), BandwidthUsage::kUnderusing);
  EXPECT_EQ(d.detect(1, 5, 10, t += 5000), BandwidthUsage::kNormal);
  // Too few groups: never overuse.
  OveruseDetector e;
  EXPECT_EQ(e.detect(1000, 50, 1, 0), BandwidthUsage::kNormal);
  // A calm signal lowers the threshold to its floor; a steady high one raises it.
  OveruseDetector calm, busy;
  for (int i = 0; i < 1000; ++i) {
    calm.detect(0, 5, 60, i * 5000);
    busy.detect(busy.threshold() + 10, 5, 60, i * 5000);
  }
  EXPECT_EQ(calm.threshold(), OveruseDetector::kMinThreshold);
  EXPECT_GT(busy.threshold(), OveruseDetector::kInitialThreshold);
  EXPECT_LE(busy.threshold(), OveruseDetector::kMaxThreshold);
}

TEST(BweAimd, DecreasesFromAckedAndCapsIncreasesByIt) {
  AimdRateControl a(10'000, 50'000'000, 10'000'000);
  std::int64_t t = 0;
  // Normal with acked at the estimate: multiplicative growth, about 8 %/s.
  for (int i = 0; i < 10; ++i) a.update(BandwidthUsage::kNormal, 10'000'000, 50'000, t += 100'000);
  EXPECT_NEAR(static_cast<double>(a.estimate()), 10e6 * 1.08, 2e5);
  // Acked far below: no increase beyond 1.5 x acked + slack (but no decrease either).
  std::uint64_t e = a.estimate();
  for (int i = 0; i < 10; ++i) a.update(BandwidthUsage::kNormal, 1'000'000, 50'000, t += 100'000);
  EXPECT_EQ(a.estimate(), e);
  // Overuse: 0.85 x acked, once per interval, then hold.
  a.update(BandwidthUsage::kOverusing, 8'000'000, 50'000, t += 10'000);
  EXPECT_EQ(a.estimate(), 6'800'000u);
  a.update(BandwidthUsage::kOverusing, 7'000'000, 50'000, t += 10'000);
  EXPECT_EQ(a.estimate(), 6'800'000u);
  EXPECT_EQ(a.state(), AimdRateControl::State::kHold);
  ASSERT_TRUE(a.capacity_bps());
  EXPECT_NEAR(*a.capacity_bps(), 8'000'000, 1);
  // Near the congestion point the increase is additive: far slower than 8 %/s.
  a.update(BandwidthUsage::kNormal, 6'800'000, 50'000, t += 100'000);
  std::uint64_t before = a.estimate();
  a.update(BandwidthUsage::kNormal, 6'800'000, 50'000, t += 1'000'000);
  EXPECT_GT(a.estimate(), before);
  EXPECT_LT(static_cast<double>(a.estimate()), static_cast<double>(before) * 1.03);
  // Underuse holds.
  before = a.estimate();
  a.update(BandwidthUsage::kUnderusing, 6'800'000, 50'000, t += 1'000'000);
  EXPECT_EQ(a.estimate(), before);
  // Probe results jump; clamps hold.
  a.set_estimate(100'000'000, t);
  EXPECT_EQ(a.estimate(), 50'000'000u);
  a.set_estimate(1, t);
  EXPECT_EQ(a.estimate(), 10'000u);
}

TEST(BweLossBased, DecreasesOnHeavyLossHoldsInBetweenGrowsOnLow) {
  LossBasedBound l;
  EXPECT_EQ(l.bound(), LossBasedBound::kUnbounded);
  l.on_feedback(5, 5, 0);  // too few packets: not evaluated
  l.update(1'000'000, 1'000'000, 0);
  EXPECT_EQ(l.bound(), LossBasedBound::kUnbounded);
  l.on_feedback(70, 20, 0);  // with the first: 25 of 100 lost
  l.update(1'000'000, 1'000'000, 100'000);
  EXPECT_NEAR(l.loss_fraction(), 0.25, 1e-9);
  EXPECT_EQ(l.bound(), 875'000u);  // x (1 - 0.5 x 0.25)
  l.on_feedback(80, 20, 0);        // again, too soon after: held
  l.update(875'000, 1'000'000, 200'000);
  EXPECT_EQ(l.bound(), 875'000u);
  l.on_feedback(95, 5, 0);  // 5 %: hold
  l.update(875'000, 1'000'000, 600'000);
  EXPECT_EQ(l.bound(), 875'000u);
  l.on_feedback(100, 0, 0);  // none: grows
  l.update(875'000, 1'000'000, 1'600'000);
  EXPECT_GT(l.bound(), 875'000u);
  EXPECT_LT(l.bound(), 1'000'000u);
  // Losses that turn out received are taken back.
  LossBasedBound m;
  m.on_feedback(70, 30, 0);
  m.on_feedback(0, 0, 30);
  m.update(1'000'000, 1'000'000, 0);
  EXPECT_EQ(m.loss_fraction(), 0.0);
  EXPECT_EQ(m.bound(), LossBasedBound::kUnbounded);
}

TEST(BweProbing, InitialThenFurtherThenPeriodic) {
  ProbeController pc(300'000, 10'000'000);
  auto a = pc.next(0, 300'000, -1);
  auto b = pc.next(0, 300'000, -1);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->target_bps, 900'000u);
  EXPECT_EQ(b->target_bps, 1'800'000u);
  EXPECT_NE(a->cluster_id, b->cluster_id);
  EXPECT_FALSE(pc.next(1000, 300'000, -1));
  // The last cluster came back near its target: go on at twice the result.
  pc.on_result(b->cluster_id, 1'700'000, 100'000);
  auto c = pc.next(100'000, 1'700'000, -1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->target_bps, 3'400'000u);
  // Capped by the path: stop.
  pc.on_result(c->cluster_id, 2'000'000, 200'000);
  EXPECT_FALSE(pc.next(200'000, 2'000'000, -1));
  // Periodic, unless congested recently or the allocation needs no more.
  EXPECT_FALSE(pc.next(2'000'000, 2'000'000, -1));  // 1.9 s after the last probe
  EXPECT_FALSE(pc.next(2'200'000, 2'000'000, 2'000'000));
  pc.set_allocation_cap(1'500'000);
  EXPECT_FALSE(pc.next(3'500'000, 2'000'000, -1));
  pc.set_allocation_cap(0);
  auto d = pc.next(3'500'000, 2'000'000, -1);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->target_bps, 4'000'000u);
}

TEST(BweLossBased, AProbeTheLinkDeliveredLiftsTheBound) {
  LossBasedBound l;
  l.on_feedback(70, 30, 0);  // 30 % loss: the bound falls below the target
  l.update(1'000'000, 1'000'000, 1'000'000);
  ASSERT_LT(l.bound(), 1'000'000u);
  std::uint64_t low = l.bound();
  l.on_probe(low / 2);  // a probe below it changes nothing
  EXPECT_EQ(l.bound(), low);
  l.on_probe(3'000'000);  // the link came back: the bound follows the probe at once
  EXPECT_EQ(l.bound(), 3'000'000u);
}

TEST(BweProbing, PeriodicProbesAlsoWhenTheEstimatePassedTheInitialOnes) {
  // Probing allowed only once the estimate already rose past 3x and 6x the start rate (it
  // followed what was sent): no initial probe, but the periodic ones must still come.
  ProbeController pc(300'000, 10'000'000);
  EXPECT_FALSE(pc.next(1'000'000, 2'000'000, -1));
  EXPECT_FALSE(pc.next(2'000'000, 2'000'000, -1));
  auto p = pc.next(4'000'000, 2'000'000, -1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->target_bps, 4'000'000u);
}

TEST(BweProbing, EstimatorTakesTheSmallerOfSendAndReceiveRate) {
  ProbeEstimator pe;
  // 10 packets of 1000 bytes sent 1 ms apart (8 Mbps), received 2 ms apart (4 Mbps).
  for (int i = 0; i < 10; ++i) pe.on_sent(7, 1000, i * 1000);
  EXPECT_FALSE(pe.on_cluster_sent(7, 0));
  std::optional<std::uint64_t> r;
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(r);
    r = pe.on_result(7, true, 1000, i * 1000, 50'000 + i * 2000);
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 4'000'000u);
  // Mostly lost: no result; unknown cluster: nothing.
  for (int i = 0; i < 10; ++i) pe.on_sent(8, 1000, i * 1000);
  pe.on_cluster_sent(8, 0);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(pe.on_result(8, i < 3, 1000, i * 1000, 50'000 + i * 1000));
  }
  EXPECT_FALSE(pe.on_result(99, true, 1000, 0, 0));
  EXPECT_EQ(pe.failures().too_few_received, 1u);
}

TEST(BweProbing, AClusterIsMeasuredWholeEvenWhenFeedbackOnItsStartComesBeforeItsEnd) {
  // A probe sent in chunks one tick apart: feedback on the first chunk (4 packets at one
  // instant) comes back before the next chunk goes out. It must not end the cluster (as a
  // cluster sent at one instant, which measures nothing).
  ProbeEstimator pe;
  for (int i = 0; i < 4; ++i) pe.on_sent(3, 1000, 0);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(pe.on_result(3, true, 1000, 0, 30'000 + i * 1000));
  // Three more chunks, 20 ms apart (4 packets of 1000 bytes each: 1.6 Mbit/s); they arrive
  // as sent.
  for (int k = 1; k < 4; ++k)
    for (int i = 0; i < 4; ++i) pe.on_sent(3, 1000, k * 20'000);
  EXPECT_FALSE(pe.on_cluster_sent(3, 1'600'000));
  std::optional<std::uint64_t> r;
  for (int k = 1; k < 4; ++k)
    for (int i = 0; i < 4; ++i) {
      EXPECT_FALSE(r);
      r = pe.on_result(3, true, 1000, k * 20'000, 30'000 + k * 20'000 + i * 1000);
    }
  ASSERT_TRUE(r);
  // 15 packets' bytes (without the last sent) over the 60 ms send span read 2 Mbit/s, and
  // received 15 packets over 63 ms 1.9 Mbit/s: both above the 1.6 Mbit/s it was sent at
  // (4 chunks over 3 intervals). The result is the target.
  EXPECT_EQ(*r, 1'600'000u);
  EXPECT_EQ(pe.failures().no_span, 0u);
  // Every packet reported before the cluster is marked sent whole: the mark completes it.
  for (int i = 0; i < 8; ++i) pe.on_sent(4, 1000, (i / 4) * 20'000);
  for (int i = 0; i < 8; ++i)
    EXPECT_FALSE(pe.on_result(4, true, 1000, (i / 4) * 20'000, 1000 + i * 2500));
  auto last = pe.on_cluster_sent(4, 0);  // no target given: the measured rate
  ASSERT_TRUE(last);
  // 7 packets over 20 ms sent (2.8 Mbit/s), over 17.5 ms received (3.2 Mbit/s).
  EXPECT_EQ(*last, 2'800'000u);
}

namespace {

void expect_sane(const SendSideBwe& b, const BweOptions& o) {
  EXPECT_GE(b.target_bps(), o.min_bps);
  EXPECT_LE(b.target_bps(), o.max_bps);
  EXPECT_TRUE(std::isfinite(b.loss_fraction()));
  EXPECT_GE(b.loss_fraction(), 0.0);
  EXPECT_LE(b.loss_fraction(), 1.0);
  EXPECT_GT(b.rtt_us(), 0);
}

}  // namespace

TEST(BweGarbage, UnknownAllLostZeroSizeAndRandomFeedbackStaySane) {
  BweOptions o{50'000, 300'000, 10'000'000, true};
  SendSideBwe b(o);
  std::vector<rtcp::TwccPacketResult> fb;
  // Feedback before anything was sent, and an empty one.
  fb.push_back({5, true, 1000});
  EXPECT_FALSE(b.on_feedback(fb, 0));
  EXPECT_FALSE(b.on_feedback({}, 0));
  EXPECT_EQ(b.stats().ignored, 1u);
  // Zero-size packets, all reported lost, many times.
  std::uint16_t seq = 0;
  std::int64_t t = 0;
  for (int round = 0; round < 50; ++round) {
    fb.clear();
    for (int i = 0; i < 30; ++i) {
      b.on_packet_sent(seq, 0, t += 1000);
      fb.push_back({seq++, false, 0});
    }
    EXPECT_TRUE(b.on_feedback(fb, t + 50'000));
    expect_sane(b, o);
  }
  EXPECT_EQ(b.target_bps(), o.min_bps);  // nothing ever arrived
  EXPECT_DOUBLE_EQ(b.loss_fraction(), 1.0);
  // Unknown sequence numbers (never sent): ignored.
  std::uint64_t ignored = b.stats().ignored;
  fb.clear();
  for (int i = 0; i < 100; ++i) fb.push_back({static_cast<std::uint16_t>(seq + 1000 + i), true, 0});
  EXPECT_FALSE(b.on_feedback(fb, t));
  EXPECT_EQ(b.stats().ignored, ignored + 100);

  // Random garbage: random sends, feedback with random seqs, flags and arrival times
  // (including absurd and negative ones), random clocks.
  std::mt19937 rng(7);
  SendSideBwe g(o);
  t = 0;
  for (int round = 0; round < 2000; ++round) {
    int sends = static_cast<int>(rng() % 20);
    for (int i = 0; i < sends; ++i) {
      g.on_packet_sent(static_cast<std::uint16_t>(rng()), rng() % 3000,
                       t += static_cast<std::int64_t>(rng() % 5000),
                       static_cast<int>(rng() % 5) - 1);
    }
    fb.clear();
    int n = static_cast<int>(rng() % 50);
    for (int i = 0; i < n; ++i) {
      std::int64_t arrival = static_cast<std::int64_t>(rng()) - (1ll << 31);
      if (rng() % 10 == 0) arrival *= 1'000'000;
      fb.push_back({static_cast<std::uint16_t>(rng()), rng() % 2 == 0, arrival});
    }
    g.on_feedback(fb, t + static_cast<std::int64_t>(rng() % 1'000'000) - 500'000);
    if (auto p = g.next_probe(t)) {
      EXPECT_GT(p->target_bps, 0u);
      EXPECT_LE(p->target_bps, o.max_bps);
    }
    expect_sane(g, o);
  }
  // And sequential sends with feedback on them in random order with random arrivals.
  SendSideBwe s(o);
  t = 0;
  seq = 65'000;
  for (int round = 0; round < 500; ++round) {
    fb.clear();
    for (int i = 0; i < 40; ++i) {
      s.on_packet_sent(seq, 1200, t += 500);
      fb.push_back({seq++, rng() % 4 != 0, t + static_cast<std::int64_t>(rng() % 200'000)});
    }
    std::shuffle(fb.begin(), fb.end(), rng);
    s.on_feedback(fb, t + 100'000);
    expect_sane(s, o);
  }
}

TEST(BweSendSide, LostThenReceivedCountsAsReceivedAndNothingTwice) {
  SendSideBwe b;
  std::vector<rtcp::TwccPacketResult> lost, got;
  for (std::uint16_t i = 0; i < 40; ++i) {
    b.on_packet_sent(static_cast<std::uint16_t>(65'520 + i), 1000, i * 1000);  // wraps
    lost.push_back({static_cast<std::uint16_t>(65'520 + i), false, 0});
    got.push_back({static_cast<std::uint16_t>(65'520 + i), true, 50'000 + i * 1000});
  }
  EXPECT_TRUE(b.on_feedback(lost, 100'000));
  EXPECT_DOUBLE_EQ(b.loss_fraction(), 1.0);
  EXPECT_EQ(b.acked_bps(), 0u);
  EXPECT_FALSE(b.on_feedback(lost, 110'000));  // the same losses again: nothing new
  EXPECT_EQ(b.stats().ignored, 40u);
  // A later feedback has them all: received after all.
  EXPECT_TRUE(b.on_feedback(got, 200'000));
  EXPECT_EQ(b.stats().ignored, 40u);
  EXPECT_GT(b.acked_bps(), 0u);
  EXPECT_DOUBLE_EQ(b.loss_fraction(), 0.0);  // this interval: 40 received, none lost
  // Neither "lost" nor "received" again changes anything now.
  EXPECT_FALSE(b.on_feedback(lost, 210'000));
  EXPECT_FALSE(b.on_feedback(got, 220'000));
  EXPECT_EQ(b.stats().ignored, 120u);
}
