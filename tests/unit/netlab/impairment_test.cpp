// The impairment model, deterministic with a seed: reordering only when asked, loss ratios
// and burst lengths (random vs Gilbert-Elliott), delay and jitter bounds, rate spacing and
// tail drop, and the spec parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "netlab/impairment.hpp"

using namespace hype::netlab;

namespace {

// Feeds n packets 1 ms apart; returns each one's verdict.
std::vector<Verdict> run(Link& link, int n, std::size_t bytes = 160, std::int64_t step_us = 1000) {
  std::vector<Verdict> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(link.decide(i * step_us, bytes));
  return out;
}

double loss_ratio(const std::vector<Verdict>& v) {
  auto lost =
      std::count_if(v.begin(), v.end(), [](const Verdict& x) { return x.fate == Fate::kLost; });
  return static_cast<double>(lost) / static_cast<double>(v.size());
}

double mean_burst(const std::vector<Verdict>& v) {
  int bursts = 0, lost = 0;
  bool in = false;
  for (const auto& x : v) {
    bool l = x.fate == Fate::kLost;
    if (l) {
      ++lost;
      if (!in) ++bursts;
    }
    in = l;
  }
  return bursts ? static_cast<double>(lost) / bursts : 0;
}

}  // namespace

TEST(Netlab, CleanReleasesAtArrival) {
  Link link(*named_profile("clean"), 1);
  auto v = run(link, 1000);
  for (std::size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(v[i].fate, Fate::kRelease);
    EXPECT_EQ(v[i].release_us, static_cast<std::int64_t>(i) * 1000);
  }
}

TEST(Netlab, SameSeedSameVerdicts) {
  Link a(*named_profile("bursty"), 42), b(*named_profile("bursty"), 42),
      c(*named_profile("bursty"), 43);
  auto va = run(a, 5000), vb = run(b, 5000), vc = run(c, 5000);
  bool differs = false;
  for (std::size_t i = 0; i < va.size(); ++i) {
    ASSERT_EQ(va[i].fate, vb[i].fate);
    ASSERT_EQ(va[i].release_us, vb[i].release_us);
    differs |= va[i].fate != vc[i].fate || va[i].release_us != vc[i].release_us;
  }
  EXPECT_TRUE(differs);
}

TEST(Netlab, NoReorderingUnlessAsked) {
  Impairment imp;
  imp.delay_ms = 50;
  imp.jitter_ms = 20;  // packets 1 ms apart with +-20 ms jitter would overtake each other
  for (JitterDist dist : {JitterDist::kUniform, JitterDist::kNormal}) {
    imp.jitter_dist = dist;
    imp.reorder = false;
    Link in_order(imp, 7);
    auto v = run(in_order, 100000);
    for (std::size_t i = 1; i < v.size(); ++i) ASSERT_GE(v[i].release_us, v[i - 1].release_us) << i;
    imp.reorder = true;
    Link reordering(imp, 7);
    auto w = run(reordering, 100000);
    int overtaken = 0;
    for (std::size_t i = 1; i < w.size(); ++i) overtaken += w[i].release_us < w[i - 1].release_us;
    EXPECT_GT(overtaken, 1000);
  }
}

TEST(Netlab, DelayAndJitterBounds) {
  Impairment imp = *named_profile("mobile");
  imp.loss = 0;
  imp.reorder = true;  // the raw distribution
  Link link(imp, 3);
  auto v = run(link, 100000);
  double sum = 0;
  std::int64_t lo = INT64_MAX, hi = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::int64_t d = v[i].release_us - static_cast<std::int64_t>(i) * 1000;
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += static_cast<double>(d);
  }
  EXPECT_NEAR(sum / static_cast<double>(v.size()), 50000, 300);  // uniform around 50 ms
  EXPECT_GE(lo, 30000);
  EXPECT_LE(hi, 70000);
  EXPECT_LT(lo, 31000);
  EXPECT_GT(hi, 69000);
}

TEST(Netlab, RandomLossMean) {
  for (double loss : {0.01, 0.02, 0.1}) {
    Impairment imp;
    imp.loss = loss;
    Link link(imp, 11);
    double got = loss_ratio(run(link, 100000));
    EXPECT_NEAR(got, loss, loss * 0.1) << loss;  // >10 sigma away for 100k packets
  }
}

TEST(Netlab, GilbertElliottMeanAndBursts) {
  Impairment bursty = *named_profile("bursty");
  EXPECT_NEAR(bursty.gilbert_elliott.mean_loss(), 0.05, 0.001);
  Link ge(bursty, 5);
  auto vg = run(ge, 100000);
  EXPECT_NEAR(loss_ratio(vg), 0.05, 0.008);
  EXPECT_NEAR(mean_burst(vg), 3.0, 0.4);
  // Random loss at the same mean: bursts of about 1 / (1 - 0.05) = 1.05 packets.
  Impairment random;
  random.loss = 0.05;
  Link rl(random, 5);
  auto vr = run(rl, 100000);
  EXPECT_NEAR(loss_ratio(vr), 0.05, 0.005);
  EXPECT_LT(mean_burst(vr), 1.2);
  EXPECT_GT(mean_burst(vg), 2 * mean_burst(vr));
}

TEST(Netlab, GilbertElliottLossInGoodAndBad) {
  Impairment imp;
  imp.gilbert_elliott = {0.1, 0.1, 0.5, 0.02};  // half the time bad: 0.5*0.5 + 0.5*0.02 = 0.26
  EXPECT_NEAR(imp.gilbert_elliott.mean_loss(), 0.26, 1e-9);
  Link link(imp, 9);
  EXPECT_NEAR(loss_ratio(run(link, 100000)), 0.26, 0.02);
}

TEST(Netlab, RateLimitSpacesPackets) {
  Impairment imp;
  imp.rate_kbps = 800;     // 100 bytes per ms
  imp.burst_bytes = 1000;  // the first packet goes at once
  imp.queue_packets = 1000;
  Link link(imp, 1);
  // 50 packets of 1000 bytes arriving together: 10 ms each on the wire.
  std::vector<Verdict> v;
  for (int i = 0; i < 50; ++i) v.push_back(link.decide(0, 1000));
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(v[static_cast<std::size_t>(i)].fate, Fate::kRelease);
    EXPECT_EQ(v[static_cast<std::size_t>(i)].release_us, i * 10000) << i;
  }
  // Below the rate nothing waits: 100 bytes every 2 ms is half of it.
  Link slow(imp, 1);
  auto w = run(slow, 1000, 100, 2000);
  for (std::size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(w[i].release_us, static_cast<std::int64_t>(i) * 2000);
}

TEST(Netlab, RateLimitTailDrop) {
  Impairment imp;
  imp.rate_kbps = 80;  // 10 bytes per ms: a 1000-byte packet takes 100 ms
  imp.burst_bytes = 1000;
  imp.queue_packets = 5;
  Link link(imp, 1);
  int released = 0, dropped = 0;
  for (int i = 0; i < 20; ++i) {
    auto v = link.decide(0, 1000);
    released += v.fate == Fate::kRelease;
    dropped += v.fate == Fate::kQueueFull;
  }
  // One on the wire at once, five waiting behind it, the rest dropped at the tail.
  EXPECT_EQ(released, 6);
  EXPECT_EQ(dropped, 14);
  EXPECT_EQ(link.decide(99'000, 1000).fate, Fate::kQueueFull);
  // Once the queue drains (the sixth starts at 500 ms), it accepts again.
  EXPECT_EQ(link.decide(500000, 1000).fate, Fate::kRelease);
  EXPECT_EQ(link.decide(500000, 1000).fate, Fate::kRelease);
}

TEST(Netlab, Profiles) {
  auto wifi = *named_profile("wifi");
  EXPECT_EQ(wifi.delay_ms, 25);
  EXPECT_EQ(wifi.jitter_ms, 10);
  EXPECT_EQ(wifi.loss, 0.01);
  auto mobile = *named_profile("mobile");
  EXPECT_EQ(mobile.delay_ms, 50);
  EXPECT_EQ(mobile.jitter_ms, 20);
  EXPECT_EQ(mobile.loss, 0.02);
  EXPECT_FALSE(mobile.reorder);
  auto bursty = *named_profile("bursty");
  EXPECT_EQ(bursty.loss, 0);
  EXPECT_NEAR(1 / bursty.gilbert_elliott.r, 3, 1e-9);
  EXPECT_FALSE(named_profile("lan").has_value());
}

TEST(Netlab, ParseSpecs) {
  auto a = parse_impairment("mobile,rate=500,queue=20");
  EXPECT_EQ(a.delay_ms, 50);
  EXPECT_EQ(a.rate_kbps, 500);
  EXPECT_EQ(a.queue_packets, 20);
  auto b = parse_impairment(
      "delay=30, jitter=5, dist=normal, reorder=1, loss=0.01, ge=0.02:0.3:0.9:0.001");
  EXPECT_EQ(b.delay_ms, 30);
  EXPECT_EQ(b.jitter_dist, JitterDist::kNormal);
  EXPECT_TRUE(b.reorder);
  EXPECT_EQ(b.gilbert_elliott.p, 0.02);
  EXPECT_EQ(b.gilbert_elliott.loss_good, 0.001);
  // describe() gives back a spec that parses to the same thing.
  auto c = parse_impairment(describe(b));
  EXPECT_EQ(describe(c), describe(b));
  for (const char* bad : {"lan", "delay=-1", "loss=2", "loss=abc", "ge=0.1", "ge=0.1:0",
                          "dist=pareto", "speed=3", "delay=1,mobile", "loss=0.1x"})
    EXPECT_THROW(parse_impairment(bad), std::invalid_argument) << bad;
}
