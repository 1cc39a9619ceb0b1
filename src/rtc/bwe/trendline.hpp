// Trendline filter (the delay-gradient estimate of draft-ietf-rmcat-gcc-02's successor in
// practice): the inter-group delay variations are accumulated into a queuing-delay curve,
// smoothed exponentially (kSmoothing), and the slope of a least-squares line through the
// last kWindow points (arrival time vs smoothed delay) says whether the bottleneck queue is
// growing. modified_trend() scales the slope by the number of samples seen (capped at
// kMaxDeltas) and kGain so it can be compared with the overuse threshold in milliseconds.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace hype::rtc::bwe {

class Trendline {
 public:
  static constexpr std::size_t kWindow = 20;
  static constexpr double kSmoothing = 0.9;
  static constexpr double kGain = 4.0;
  static constexpr std::size_t kMaxDeltas = 60;

  // One completed group: its send and arrival deltas (ms) and its arrival time (us).
  void update(double send_delta_ms, double arrival_delta_ms, std::int64_t arrival_us);
  double modified_trend() const { return modified_trend_; }
  double slope() const { return slope_; }
  std::size_t num_deltas() const { return num_deltas_; }

 private:
  struct Point {
    double x = 0;  // ms since the first group
    double y = 0;  // smoothed accumulated delay, ms
  };
  std::array<Point, kWindow> points_{};
  std::size_t count_ = 0;  // points in the ring (<= kWindow)
  std::size_t next_ = 0;   // ring write position
  std::size_t num_deltas_ = 0;
  bool has_first_ = false;
  std::int64_t first_arrival_us_ = 0;
  double accumulated_ms_ = 0;
  double smoothed_ms_ = 0;
  double slope_ = 0;
  double modified_trend_ = 0;
};

}  // namespace hype::rtc::bwe
