// Keyframe requests (PLI/FIR) from many subscribers of one video track collapse into at most
// one request to the publisher per interval: a keyframe answers all of them, and a burst of
// requests from a 50-person channel would otherwise make the encoder send keyframes back to
// back. The first request passes at once so a new subscriber starts quickly.
#pragma once

#include <cstdint>

namespace hype::sfu {

class PliThrottle {
 public:
  explicit PliThrottle(std::int64_t interval_ms = 500) : interval_ms_(interval_ms) {}

  // True when a request may go to the publisher now (and records it).
  bool allow(std::int64_t now_ms) {
    if (sent_any_ && now_ms - last_ms_ < interval_ms_) {
      ++suppressed_;
      return false;
    }
    sent_any_ = true;
    last_ms_ = now_ms;
    return true;
  }
  // Whether allow() would pass now (without recording anything).
  bool due(std::int64_t now_ms) const { return !sent_any_ || now_ms - last_ms_ >= interval_ms_; }
  std::uint64_t suppressed() const { return suppressed_; }

 private:
  std::int64_t interval_ms_;
  std::int64_t last_ms_ = 0;
  bool sent_any_ = false;
  std::uint64_t suppressed_ = 0;
};

}  // namespace hype::sfu
