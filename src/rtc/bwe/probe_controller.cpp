#include "rtc/bwe/probe_controller.hpp"

#include <algorithm>

namespace hype::rtc::bwe {

std::uint64_t ProbeController::limit() const {
  return cap_bps_ ? std::min(max_bps_, cap_bps_) : max_bps_;
}

void ProbeController::push(std::uint64_t target_bps) {
  if (pending_count_ < pending_.size()) pending_[pending_count_++] = target_bps;
}

std::optional<ProbeRequest> ProbeController::next(std::int64_t now_us, std::uint64_t estimate,
                                                  std::int64_t congested_us) {
  if (!started_) {
    started_ = true;
    for (double f : kInitialFactors) {
      auto t = std::min(static_cast<std::uint64_t>(static_cast<double>(start_bps_) * f), limit());
      if (t > estimate) push(t);
    }
    // No initial probe was worth sending (the estimate already passed them, e.g. it rose
    // to the rate sent before probing was allowed): the periodic probes count from now.
    if (pending_count_ == 0) last_probe_us_ = now_us;
  }
  if (waiting_cluster_ >= 0 && now_us - waiting_since_us_ > kResultTimeoutUs) {
    waiting_cluster_ = -1;
  }
  if (pending_count_ == 0 && waiting_cluster_ < 0 && last_probe_us_ >= 0 &&
      now_us - last_probe_us_ >= kPeriodicIntervalUs && estimate < limit() &&
      (congested_us < 0 || now_us - congested_us >= kQuietUs)) {
    push(std::min(static_cast<std::uint64_t>(static_cast<double>(estimate) * kFurtherFactor),
                  limit()));
  }
  if (pending_count_ == 0) return std::nullopt;
  std::uint64_t target = pending_[0];
  std::copy(pending_.begin() + 1, pending_.begin() + static_cast<std::ptrdiff_t>(pending_count_),
            pending_.begin());
  --pending_count_;
  ProbeRequest r{next_cluster_++, target, kMinPackets, kDurationUs};
  if (next_cluster_ < 0) next_cluster_ = 0;
  last_probe_us_ = now_us;
  // The search continues from the last cluster of a batch.
  waiting_cluster_ = r.cluster_id;
  waiting_target_ = target;
  waiting_since_us_ = now_us;
  return r;
}

void ProbeController::on_result(int cluster_id, std::uint64_t bps, std::int64_t now_us) {
  if (cluster_id != waiting_cluster_) return;
  waiting_cluster_ = -1;
  if (pending_count_ > 0) return;  // the rest of a batch is still to go
  if (static_cast<double>(bps) >= kFurtherThreshold * static_cast<double>(waiting_target_) &&
      waiting_target_ < limit()) {
    auto t =
        std::min(static_cast<std::uint64_t>(static_cast<double>(bps) * kFurtherFactor), limit());
    if (t > bps) push(t);
  }
  (void)now_us;
}

}  // namespace hype::rtc::bwe
