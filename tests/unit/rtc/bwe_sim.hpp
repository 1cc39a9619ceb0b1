// A small synthetic bottleneck for the send-side bandwidth estimator's tests: a sender paced
// at the estimate (and sending the probe clusters it asks for), a FIFO link of capacity C(t)
// with a tail-drop queue, a one-way delay, optional random loss, and a receiver that sends
// transport-wide feedback (seq, received, arrival on the 250 us wire grid) every 100 ms,
// delivered in order, reordered in pairs, twice, or with every seventh one lost. Deterministic for
// a given seed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <random>
#include <vector>

#include "rtc/bwe/send_side_bwe.hpp"
#include "rtc/rtcp/twcc.hpp"

namespace hype::rtc::bwe::testing {

enum class FeedbackMode { kOrdered, kReorderedPairs, kDuplicated, kEverySeventhLost };

struct SimConfig {
  std::int64_t duration_us = 30'000'000;
  std::function<double(std::int64_t)> capacity_bps = [](std::int64_t) { return 5e6; };
  std::function<double(std::int64_t)> loss = [](std::int64_t) { return 0.0; };  // after the link
  std::int64_t one_way_us = 20'000;
  std::size_t queue_bytes = 100'000;
  std::int64_t feedback_interval_us = 100'000;
  FeedbackMode mode = FeedbackMode::kOrdered;
  std::uint16_t first_seq = 65'000;  // wraps early in every run
  std::size_t packet_bytes = 1200;
  double app_rate_bps = 0;  // > 0: the sender sends this much whatever the estimate
  std::uint32_t seed = 1;
  BweOptions options{50'000, 300'000, 20'000'000, true};
};

struct Sample {
  std::int64_t t_us;
  std::uint64_t target_bps;
};

struct SimResult {
  std::vector<Sample> samples;  // every 100 ms
  BweStats stats;
  double max_loss_fraction = 0;
  std::size_t probes = 0;

  // Mean target over [from, to) seconds.
  double mean(double from_s, double to_s) const {
    double sum = 0;
    int n = 0;
    for (const Sample& s : samples) {
      double t = static_cast<double>(s.t_us) / 1e6;
      if (t >= from_s && t < to_s) {
        sum += static_cast<double>(s.target_bps);
        ++n;
      }
    }
    return n ? sum / n : 0;
  }
  // The lowest target over [from, to) seconds.
  double min(double from_s, double to_s) const {
    double m = 1e18;
    for (const Sample& s : samples) {
      double t = static_cast<double>(s.t_us) / 1e6;
      if (t >= from_s && t < to_s) m = std::min(m, static_cast<double>(s.target_bps));
    }
    return m;
  }
  // The first time in [from, to) seconds at which pred(target) holds, or -1.
  double first_time(double from_s, double to_s, const std::function<bool(double)>& pred) const {
    for (const Sample& s : samples) {
      double t = static_cast<double>(s.t_us) / 1e6;
      if (t >= from_s && t < to_s && pred(static_cast<double>(s.target_bps))) return t;
    }
    return -1;
  }
  double at(double t_s) const {
    for (const Sample& s : samples)
      if (static_cast<double>(s.t_us) / 1e6 >= t_s) return static_cast<double>(s.target_bps);
    return 0;
  }
};

inline SimResult simulate(const SimConfig& cfg) {
  constexpr std::int64_t kStepUs = 100;
  SendSideBwe bwe(cfg.options);
  std::mt19937 rng(cfg.seed);
  std::uniform_real_distribution<double> uni(0, 1);
  SimResult res;

  struct InFlight {
    std::uint16_t seq = 0;
    std::int64_t arrival_us = -1;  // -1: lost
  };
  struct Departure {
    std::int64_t at = 0;
    std::size_t bytes = 0;
  };
  struct Feedback {
    std::int64_t deliver_us = 0;
    std::vector<rtcp::TwccPacketResult> results;
  };
  std::deque<InFlight> flight;  // in send order (the link is FIFO)
  std::deque<Departure> queue;
  std::vector<Feedback> pending;
  std::size_t queued_bytes = 0;
  std::int64_t link_free_us = 0;
  std::uint16_t seq = cfg.first_seq;
  std::int64_t next_send_us = 0;
  std::int64_t next_feedback_us = cfg.feedback_interval_us;
  std::int64_t next_sample_us = 0;
  int feedback_index = 0;
  // The probe being sent.
  int probe_cluster = -1;
  int probe_left = 0;
  double probe_bps = 0;

  for (std::int64_t t = 0; t <= cfg.duration_us; t += kStepUs) {
    // Feedback due at the sender.
    std::stable_sort(pending.begin(), pending.end(), [](const Feedback& a, const Feedback& b) {
      return a.deliver_us < b.deliver_us;
    });
    while (!pending.empty() && pending.front().deliver_us <= t) {
      bwe.on_feedback(pending.front().results, t);
      res.max_loss_fraction = std::max(res.max_loss_fraction, bwe.loss_fraction());
      pending.erase(pending.begin());
    }
    if (probe_left == 0) {
      if (auto p = bwe.next_probe(t)) {
        ++res.probes;
        probe_cluster = p->cluster_id;
        probe_bps = static_cast<double>(p->target_bps);
        double by_time = probe_bps * static_cast<double>(p->min_duration_us) / 1e6 /
                         static_cast<double>(cfg.packet_bytes * 8);
        probe_left = std::max(p->min_packets, static_cast<int>(std::ceil(by_time)));
        next_send_us = std::max(next_send_us, t);
      }
    }
    // Sender: paced at the estimate, or at the probe rate while a probe is out.
    while (next_send_us <= t) {
      bool probing = probe_left > 0;
      double media =
          cfg.app_rate_bps > 0 ? cfg.app_rate_bps : static_cast<double>(bwe.target_bps());
      double rate = probing ? probe_bps : media;
      bwe.on_packet_sent(seq, cfg.packet_bytes, next_send_us, probing ? probe_cluster : -1);
      // The link: tail drop when the queue is full, else FIFO at the current capacity.
      while (!queue.empty() && queue.front().at <= next_send_us) {
        queued_bytes -= queue.front().bytes;
        queue.pop_front();
      }
      std::int64_t arrival = -1;
      if (queued_bytes + cfg.packet_bytes <= cfg.queue_bytes) {
        double c = cfg.capacity_bps(next_send_us);
        std::int64_t depart =
            std::max(next_send_us, link_free_us) +
            static_cast<std::int64_t>(static_cast<double>(cfg.packet_bytes * 8) * 1e6 / c);
        link_free_us = depart;
        queue.push_back({depart, cfg.packet_bytes});
        queued_bytes += cfg.packet_bytes;
        if (uni(rng) >= cfg.loss(next_send_us)) arrival = depart + cfg.one_way_us;
      }
      flight.push_back({seq, arrival});
      ++seq;
      if (probing && --probe_left == 0)
        bwe.on_probe_sent(probe_cluster, static_cast<std::uint64_t>(probe_bps), next_send_us);
      next_send_us += static_cast<std::int64_t>(static_cast<double>(cfg.packet_bytes * 8) * 1e6 /
                                                std::max(rate, 1.0));
    }
    // Receiver: feedback on everything up to the newest arrival.
    if (t >= next_feedback_us) {
      next_feedback_us += cfg.feedback_interval_us;
      std::size_t last = 0;  // one past the newest packet that has arrived by now
      for (std::size_t i = 0; i < flight.size(); ++i)
        if (flight[i].arrival_us >= 0 && flight[i].arrival_us <= t) last = i + 1;
      if (last > 0) {
        Feedback fb;
        for (std::size_t i = 0; i < last; ++i) {
          rtcp::TwccPacketResult r;
          r.seq = flight[i].seq;
          r.received = flight[i].arrival_us >= 0;
          // The wire's 250 us grid.
          r.arrival_us = r.received ? flight[i].arrival_us / 250 * 250 : 0;
          fb.results.push_back(r);
        }
        flight.erase(flight.begin(), flight.begin() + static_cast<std::ptrdiff_t>(last));
        fb.deliver_us = t + cfg.one_way_us;
        if (cfg.mode == FeedbackMode::kReorderedPairs && feedback_index % 2 == 0) {
          fb.deliver_us += cfg.feedback_interval_us + 1;  // after the next one
        }
        if (cfg.mode == FeedbackMode::kDuplicated) pending.push_back(fb);
        if (cfg.mode != FeedbackMode::kEverySeventhLost || feedback_index % 7 != 3) {
          pending.push_back(std::move(fb));
        }
        ++feedback_index;
      }
    }
    if (t >= next_sample_us) {
      res.samples.push_back({t, bwe.target_bps()});
      if (std::getenv("BWE_TRACE"))
        std::printf(
            "t %.1f target %.3f delay %.3f loss_bound %.3f acked %.3f %s loss %.3f rtt %lld\n",
            static_cast<double>(t) / 1e6, static_cast<double>(bwe.target_bps()) / 1e6,
            static_cast<double>(bwe.delay_based_bps()) / 1e6,
            static_cast<double>(std::min<std::uint64_t>(bwe.loss_bound_bps(), 99'000'000)) / 1e6,
            static_cast<double>(bwe.acked_bps()) / 1e6, to_string(bwe.state()), bwe.loss_fraction(),
            static_cast<long long>(bwe.rtt_us()));
      next_sample_us += 100'000;
    }
  }
  res.stats = bwe.stats();
  return res;
}

}  // namespace hype::rtc::bwe::testing
