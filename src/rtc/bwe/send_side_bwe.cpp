#include "rtc/bwe/send_side_bwe.hpp"

#include <algorithm>

namespace hype::rtc::bwe {

SendSideBwe::SendSideBwe(BweOptions options)
    : opt_(options),
      aimd_(options.min_bps, options.max_bps, options.start_bps),
      probes_(options.start_bps, options.max_bps),
      target_bps_(aimd_.estimate()) {}

void SendSideBwe::set_max_bps(std::uint64_t max_bps) {
  opt_.max_bps = std::max(opt_.min_bps, max_bps);
  aimd_.set_max_bps(opt_.max_bps);
  probes_.set_max_bps(opt_.max_bps);
  update_target();
}

void SendSideBwe::on_packet_sent(std::uint16_t seq, std::size_t bytes, std::int64_t send_us,
                                 int probe_cluster) {
  history_.add(seq, bytes, send_us, probe_cluster);
  probe_estimator_.on_sent(probe_cluster, bytes, send_us);
}

void SendSideBwe::on_probe_sent(int cluster, std::uint64_t target_bps, std::int64_t now_us) {
  if (auto bps = probe_estimator_.on_cluster_sent(cluster, target_bps))
    take_probe_result(cluster, *bps, now_us);
}

void SendSideBwe::take_probe_result(int cluster, std::uint64_t bps, std::int64_t now_us) {
  ++stats_.probe_results;
  probes_.on_result(cluster, bps, now_us);
  loss_.on_probe(bps);
  if (bps > aimd_.estimate()) aimd_.set_estimate(bps, now_us);
  update_target();
}

bool SendSideBwe::on_feedback(std::span<const rtcp::TwccPacketResult> results,
                              std::int64_t now_us) {
  ++stats_.feedbacks;
  std::size_t n_new = 0, lost = 0, recovered = 0;
  std::int64_t min_new = -1, max_new = -1;
  std::optional<std::uint64_t> probe_bps;
  int probe_cluster = -1;
  for (const rtcp::TwccPacketResult& r : results) {
    ++stats_.results;
    SentPacket* p = history_.find(r.seq);
    if (!p || p->received || (!r.received && p->reported_lost)) {
      ++stats_.ignored;
      continue;
    }
    bool first_report = !p->reported_lost;
    min_new = min_new < 0 ? p->seq : std::min(min_new, p->seq);
    max_new = std::max(max_new, p->seq);
    if (r.received) {
      if (p->reported_lost) ++recovered;
      p->received = true;
      p->reported_lost = false;
      p->arrival_us = r.arrival_us;
      if (n_new < scratch_.size()) scratch_[n_new++] = p;
    } else {
      p->reported_lost = true;
      ++lost;
    }
    if (first_report && p->probe_cluster >= 0) {
      if (auto bps = probe_estimator_.on_result(p->probe_cluster, r.received, p->bytes, p->send_us,
                                                r.arrival_us)) {
        probe_bps = bps;
        probe_cluster = p->probe_cluster;
      }
    }
  }
  if (n_new == 0 && lost == 0) return false;
  ++stats_.useful_feedbacks;
  if (reported_through_ < 0) reported_through_ = min_new - 1;
  max_reported_ = std::max(max_reported_, max_new);

  std::sort(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(n_new),
            [](const SentPacket* a, const SentPacket* b) {
              return a->send_us != b->send_us ? a->send_us < b->send_us : a->seq < b->seq;
            });
  // The newest packet this feedback acknowledges gives an RTT sample (it includes the
  // receiver's feedback interval: a conservative RTT).
  if (n_new > 0) {
    std::int64_t sample =
        std::clamp<std::int64_t>(now_us - scratch_[n_new - 1]->send_us, 1'000, kMaxRttUs);
    rtt_us_ = has_rtt_
                  ? static_cast<std::int64_t>(kRttSmoothing * static_cast<double>(rtt_us_) +
                                              (1 - kRttSmoothing) * static_cast<double>(sample))
                  : sample;
    has_rtt_ = true;
  }

  BandwidthUsage usage = detector_.state();
  for (std::size_t i = 0; i < n_new; ++i) {
    SentPacket* p = scratch_[i];
    acked_.add(p->arrival_us, p->bytes);
    // A probe overfills the queue on purpose: its own delay growth is no congestion signal
    // (the media packets behind it still see the queue it leaves).
    if (p->probe_cluster >= 0) continue;
    GroupDelta d;
    if (groups_.add(p->send_us, p->arrival_us, d)) {
      trendline_.update(static_cast<double>(d.send_delta_us) / 1000.0,
                        static_cast<double>(d.arrival_delta_us) / 1000.0, d.arrival_us);
      usage = detector_.detect(trendline_.modified_trend(),
                               static_cast<double>(d.arrival_delta_us) / 1000.0,
                               trendline_.num_deltas(), now_us);
      if (usage == BandwidthUsage::kOverusing) congested_us_ = now_us;
    }
  }
  loss_.on_feedback(n_new - recovered, lost, recovered);

  // What the path just delivered: the estimate jumps to it now, also when this feedback
  // leaves a gap for the rate update below to wait on.
  if (probe_bps) take_probe_result(probe_cluster, *probe_bps, now_us);
  if (reporting_gap()) {
    if (gap_since_us_ < 0) gap_since_us_ = now_us;
    if (now_us - gap_since_us_ < kMaxGapWaitUs) return true;
    reported_through_ = max_reported_;  // that feedback is lost: go on without it
  }
  gap_since_us_ = -1;

  aimd_.update(usage, acked_.bps(), rtt_us_, now_us);
  if (probe_bps && *probe_bps > aimd_.estimate()) aimd_.set_estimate(*probe_bps, now_us);
  std::uint64_t before = target_bps_;
  loss_.update(std::min<std::uint64_t>(before, aimd_.estimate()), aimd_.estimate(), now_us);
  if (loss_.loss_fraction() > LossBasedBound::kHighLoss) congested_us_ = now_us;
  update_target();
  return true;
}

bool SendSideBwe::reporting_gap() {
  while (reported_through_ < max_reported_) {
    const SentPacket* p = history_.find_unwrapped(reported_through_ + 1);
    // Not in the ring any more (overwritten): nothing to wait for.
    if (p && !p->received && !p->reported_lost) break;
    ++reported_through_;
  }
  return reported_through_ < max_reported_;
}

void SendSideBwe::update_target() {
  std::uint64_t t = std::min(aimd_.estimate(), loss_.bound());
  target_bps_ = std::clamp(t, opt_.min_bps, opt_.max_bps);
}

std::optional<ProbeRequest> SendSideBwe::next_probe(std::int64_t now_us) {
  if (!opt_.probing) return std::nullopt;
  return probes_.next(now_us, target_bps_, congested_us_);
}

}  // namespace hype::rtc::bwe
