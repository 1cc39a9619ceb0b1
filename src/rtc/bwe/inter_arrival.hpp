// Packet groups for the delay-based estimator (draft-ietf-rmcat-gcc-02, 5.2): packets sent
// within kBurstUs of a group's first packet form one group (a video frame, a pacer burst);
// a packet that arrives within kBurstUs of the previous one and faster than it was sent is
// folded into the group too (a burst released by a queue upstream). When a group completes,
// the send and arrival time differences between its last packet and the previous group's
// last packet are the estimator's input. Packets must come in send order; one sent before
// the current group started is dropped (reordered feedback).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hype::rtc::bwe {

struct GroupDelta {
  std::int64_t send_delta_us = 0;
  std::int64_t arrival_delta_us = 0;
  std::int64_t arrival_us = 0;  // last arrival of the completed group
};

class InterArrival {
 public:
  static constexpr std::int64_t kBurstUs = 5'000;
  // A delay variation this large means the receiver's clock jumped: start over.
  static constexpr std::int64_t kResetUs = 3'000'000;

  // True with `out` filled when this packet completed a group that had a predecessor.
  bool add(std::int64_t send_us, std::int64_t arrival_us, GroupDelta& out);
  std::size_t resets() const { return resets_; }

 private:
  struct Group {
    bool valid = false;
    std::int64_t first_send = 0;
    std::int64_t last_send = 0;
    std::int64_t last_arrival = 0;
  };
  bool belongs(std::int64_t send_us, std::int64_t arrival_us) const;

  Group cur_, prev_;
  std::size_t resets_ = 0;
};

}  // namespace hype::rtc::bwe
