#include "rtc/bwe/send_history.hpp"

#include <algorithm>

namespace hype::rtc::bwe {

void SendHistory::add(std::uint16_t seq, std::size_t bytes, std::int64_t send_us,
                      int probe_cluster) {
  // Offset so that unwrapped numbers stay positive whatever the first sequence number.
  std::int64_t u = unwrap_.unwrap(seq) + (std::int64_t{1} << 32);
  SentPacket& p = ring_[static_cast<std::size_t>(u) % kCapacity];
  p = SentPacket{};
  p.seq = u;
  p.send_us = send_us;
  p.bytes = static_cast<std::uint32_t>(std::min<std::size_t>(bytes, UINT32_MAX));
  p.probe_cluster = probe_cluster;
  newest_seq_ = std::max(newest_seq_, u);
  newest_send_us_ = std::max(newest_send_us_, send_us);
}

SentPacket* SendHistory::find(std::uint16_t seq) {
  if (newest_seq_ < 0) return nullptr;
  std::int64_t u = unwrap_.peek(seq) + (std::int64_t{1} << 32);
  if (u > newest_seq_ || u <= newest_seq_ - static_cast<std::int64_t>(kCapacity)) return nullptr;
  SentPacket& p = ring_[static_cast<std::size_t>(u) % kCapacity];
  if (p.seq != u) return nullptr;
  if (newest_send_us_ - p.send_us > kMaxAgeUs) return nullptr;
  return &p;
}

SentPacket* SendHistory::find_unwrapped(std::int64_t u) {
  if (u < 0) return nullptr;
  SentPacket& p = ring_[static_cast<std::size_t>(u) % kCapacity];
  return p.seq == u ? &p : nullptr;
}

}  // namespace hype::rtc::bwe
