// What was sent on one transport, by transport-wide sequence number, so that TWCC feedback
// (which carries only sequence numbers and arrival times) can be matched to send times,
// sizes and probe clusters. A fixed ring of kCapacity entries indexed by the unwrapped
// sequence number: no allocation per packet, and a sequence number older than the ring or
// than kMaxAgeUs behind the newest send is unknown.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rtc/rtp/seq_unwrapper.hpp"

namespace hype::rtc::bwe {

struct SentPacket {
  std::int64_t seq = -1;  // unwrapped; -1: empty slot
  std::int64_t send_us = 0;
  std::int64_t arrival_us = 0;  // valid once received
  std::uint32_t bytes = 0;
  std::int32_t probe_cluster = -1;
  bool received = false;       // some feedback reported it received
  bool reported_lost = false;  // some feedback reported it lost (and none received yet)
};

class SendHistory {
 public:
  static constexpr std::size_t kCapacity = 4096;
  static constexpr std::int64_t kMaxAgeUs = 2'000'000;

  void add(std::uint16_t seq, std::size_t bytes, std::int64_t send_us, int probe_cluster);
  // The entry sent under `seq`, or nullptr when unknown, overwritten or too old.
  SentPacket* find(std::uint16_t seq);
  // The entry of unwrapped number `u` (SentPacket::seq), or nullptr when not in the ring.
  SentPacket* find_unwrapped(std::int64_t u);
  std::int64_t newest_send_us() const { return newest_send_us_; }
  bool empty() const { return newest_seq_ < 0; }

 private:
  Unwrapper<std::uint16_t> unwrap_;
  std::int64_t newest_seq_ = -1;
  std::int64_t newest_send_us_ = 0;
  std::array<SentPacket, kCapacity> ring_{};
};

}  // namespace hype::rtc::bwe
