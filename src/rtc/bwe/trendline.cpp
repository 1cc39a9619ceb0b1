#include "rtc/bwe/trendline.hpp"

#include <algorithm>
#include <cmath>

namespace hype::rtc::bwe {

void Trendline::update(double send_delta_ms, double arrival_delta_ms, std::int64_t arrival_us) {
  if (!has_first_) {
    has_first_ = true;
    first_arrival_us_ = arrival_us;
  }
  num_deltas_ = std::min(num_deltas_ + 1, kMaxDeltas);
  accumulated_ms_ += arrival_delta_ms - send_delta_ms;
  smoothed_ms_ = kSmoothing * smoothed_ms_ + (1 - kSmoothing) * accumulated_ms_;
  points_[next_] = {static_cast<double>(arrival_us - first_arrival_us_) / 1000.0, smoothed_ms_};
  next_ = (next_ + 1) % kWindow;
  count_ = std::min(count_ + 1, kWindow);
  if (count_ < kWindow) return;

  double sx = 0, sy = 0;
  for (const Point& p : points_) {
    sx += p.x;
    sy += p.y;
  }
  double mx = sx / static_cast<double>(kWindow), my = sy / static_cast<double>(kWindow);
  double num = 0, den = 0;
  for (const Point& p : points_) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) * (p.x - mx);
  }
  // All points at one arrival time (a burst): no slope to learn, keep the last one.
  if (den > 0 && std::isfinite(num / den)) slope_ = num / den;
  modified_trend_ = static_cast<double>(num_deltas_) * slope_ * kGain;
}

}  // namespace hype::rtc::bwe
