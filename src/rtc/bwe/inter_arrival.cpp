#include "rtc/bwe/inter_arrival.hpp"

#include <algorithm>

namespace hype::rtc::bwe {

bool InterArrival::belongs(std::int64_t send_us, std::int64_t arrival_us) const {
  if (send_us - cur_.first_send <= kBurstUs) return true;
  std::int64_t arrival_delta = arrival_us - cur_.last_arrival;
  std::int64_t send_delta = send_us - cur_.last_send;
  return arrival_delta >= 0 && arrival_delta < kBurstUs && arrival_delta - send_delta < 0;
}

bool InterArrival::add(std::int64_t send_us, std::int64_t arrival_us, GroupDelta& out) {
  if (!cur_.valid) {
    cur_ = {true, send_us, send_us, arrival_us};
    return false;
  }
  if (send_us < cur_.first_send) return false;  // out of order
  if (belongs(send_us, arrival_us)) {
    cur_.last_send = std::max(cur_.last_send, send_us);
    cur_.last_arrival = std::max(cur_.last_arrival, arrival_us);
    return false;
  }
  bool emitted = false;
  if (prev_.valid) {
    out.send_delta_us = cur_.last_send - prev_.last_send;
    out.arrival_delta_us = cur_.last_arrival - prev_.last_arrival;
    out.arrival_us = cur_.last_arrival;
    std::int64_t variation = out.arrival_delta_us - out.send_delta_us;
    if (variation > kResetUs || variation < -kResetUs) {
      ++resets_;
      cur_ = {true, send_us, send_us, arrival_us};
      prev_ = {};
      return false;
    }
    // A group that arrived before its predecessor (reordered on the path) says nothing
    // about the queue.
    emitted = out.arrival_delta_us >= 0;
  }
  prev_ = cur_;
  cur_ = {true, send_us, send_us, arrival_us};
  return emitted;
}

}  // namespace hype::rtc::bwe
