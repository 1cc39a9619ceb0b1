#include "rtc/bwe/acked_bitrate.hpp"

#include <algorithm>

namespace hype::rtc::bwe {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::size_t index_of(std::int64_t bucket, std::size_t n) {
  auto m = static_cast<std::int64_t>(n);
  return static_cast<std::size_t>(((bucket % m) + m) % m);
}

}  // namespace

void AckedBitrate::add(std::int64_t arrival_us, std::size_t bytes) {
  std::int64_t b = floor_div(arrival_us, kBucketUs);
  auto n = static_cast<std::int64_t>(kBuckets);
  if (!started_) {
    started_ = true;
    head_ = first_ = b;
  } else if (b > head_) {
    // Clear the buckets the window slides over (at most all of them).
    std::int64_t from = std::max(head_ + 1, b - n + 1);
    for (std::int64_t i = from; i <= b; ++i) {
      std::uint64_t& slot = bytes_[index_of(i, kBuckets)];
      total_ -= slot;
      slot = 0;
    }
    if (b - head_ >= n) {
      // A gap longer than the window: whatever was there is gone.
      bytes_.fill(0);
      total_ = 0;
    }
    head_ = b;
  } else if (b <= head_ - n) {
    return;  // older than the window
  }
  bytes_[index_of(b, kBuckets)] += bytes;
  total_ += bytes;
}

std::optional<std::uint64_t> AckedBitrate::bps() const {
  if (!started_) return std::nullopt;
  auto span = static_cast<std::size_t>(
      std::min<std::int64_t>(head_ - first_ + 1, static_cast<std::int64_t>(kBuckets)));
  span = std::max(span, kMinSpanBuckets);
  auto window_us = static_cast<std::uint64_t>(span) * static_cast<std::uint64_t>(kBucketUs);
  return total_ * 8 * 1'000'000 / window_us;
}

}  // namespace hype::rtc::bwe
