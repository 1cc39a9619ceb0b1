#include "rtc/bwe/probe_estimator.hpp"

#include <algorithm>

namespace hype::rtc::bwe {

ProbeEstimator::Cluster* ProbeEstimator::slot(int cluster) {
  if (cluster < 0) return nullptr;
  Cluster& c = clusters_[static_cast<std::size_t>(cluster) % kSlots];
  return c.id == cluster ? &c : nullptr;
}

void ProbeEstimator::on_sent(int cluster, std::size_t /*bytes*/, std::int64_t /*send_us*/) {
  if (cluster < 0) return;
  Cluster& c = clusters_[static_cast<std::size_t>(cluster) % kSlots];
  if (c.id != cluster) {
    if (c.id >= 0 && !c.done) ++failures_.unfinished;
    c = Cluster{cluster};
  }
  ++c.sent;
}

std::optional<std::uint64_t> ProbeEstimator::on_result(int cluster, bool received,
                                                       std::size_t bytes, std::int64_t send_us,
                                                       std::int64_t arrival_us) {
  Cluster* c = slot(cluster);
  if (!c || c->done) return std::nullopt;
  if (!received) {
    ++c->lost;
  } else {
    if (c->received == 0) {
      c->first_send = c->last_send = send_us;
      c->first_arrival = c->last_arrival = arrival_us;
      c->last_send_bytes = c->first_arrival_bytes = bytes;
    } else {
      c->first_send = std::min(c->first_send, send_us);
      if (send_us >= c->last_send) {
        c->last_send = send_us;
        c->last_send_bytes = bytes;
      }
      if (arrival_us < c->first_arrival) {
        c->first_arrival = arrival_us;
        c->first_arrival_bytes = bytes;
      }
      c->last_arrival = std::max(c->last_arrival, arrival_us);
    }
    ++c->received;
    c->bytes += bytes;
  }
  return complete(*c);
}

std::optional<std::uint64_t> ProbeEstimator::on_cluster_sent(int cluster,
                                                             std::uint64_t target_bps) {
  Cluster* c = slot(cluster);
  if (!c || c->done) return std::nullopt;
  c->sent_all = true;
  c->target = target_bps;
  return complete(*c);
}

std::optional<std::uint64_t> ProbeEstimator::complete(Cluster& c) {
  if (!c.sent_all || c.received + c.lost < c.sent) return std::nullopt;
  c.done = true;
  if (c.received < kMinPackets ||
      static_cast<double>(c.received) < kMinReceivedFraction * static_cast<double>(c.sent)) {
    ++failures_.too_few_received;
    return std::nullopt;
  }
  std::int64_t send_span = c.last_send - c.first_send;
  std::int64_t recv_span = c.last_arrival - c.first_arrival;
  if (send_span <= 0 || recv_span <= 0) {
    ++failures_.no_span;
    return std::nullopt;
  }
  double send_bps =
      static_cast<double>(c.bytes - c.last_send_bytes) * 8e6 / static_cast<double>(send_span);
  double recv_bps =
      static_cast<double>(c.bytes - c.first_arrival_bytes) * 8e6 / static_cast<double>(recv_span);
  if (recv_bps > kMaxRecvOverSend * send_bps) {
    ++failures_.compressed;
    return std::nullopt;
  }
  const auto bps = static_cast<std::uint64_t>(std::min(send_bps, recv_bps));
  return c.target != 0 ? std::min(bps, c.target) : bps;
}

}  // namespace hype::rtc::bwe
