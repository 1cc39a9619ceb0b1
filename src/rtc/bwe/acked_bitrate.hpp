// Acknowledged bitrate: the bytes the receiver reported received over the last kWindowUs of
// its arrival clock, from fixed 5 ms buckets (no allocation, tolerates reordered feedback
// within the window). This is the throughput the path delivered, the reference the rate
// controller decreases from and caps its increases by.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace hype::rtc::bwe {

class AckedBitrate {
 public:
  static constexpr std::int64_t kBucketUs = 5'000;
  static constexpr std::size_t kBuckets = 50;  // a 250 ms window
  static constexpr std::int64_t kWindowUs = kBucketUs * static_cast<std::int64_t>(kBuckets);
  // Until this much arrival time has been seen, the rate is taken over this span (an
  // underestimate at the start rather than one burst read as a huge rate).
  static constexpr std::size_t kMinSpanBuckets = 30;  // 150 ms

  void add(std::int64_t arrival_us, std::size_t bytes);
  // Bits per second; nullopt until something was received.
  std::optional<std::uint64_t> bps() const;

 private:
  std::array<std::uint64_t, kBuckets> bytes_{};
  bool started_ = false;
  std::int64_t head_ = 0;   // bucket number of the newest arrival
  std::int64_t first_ = 0;  // bucket number of the first arrival
  std::uint64_t total_ = 0;
};

}  // namespace hype::rtc::bwe
