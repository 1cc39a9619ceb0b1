#include "sfu/packet_cache.hpp"

#include <cstring>

namespace hype::sfu {

PacketCache::PacketCache(std::size_t capacity) {
  std::size_t n = 1;
  while (n < capacity) n <<= 1;
  slots_.resize(n);
  data_.resize(n * kMaxPacketSize);
  mask_ = n - 1;
}

bool PacketCache::store(std::uint16_t seq, rtc::ByteSpan packet, std::int64_t now_ms) {
  if (packet.empty() || packet.size() > kMaxPacketSize) return false;
  std::size_t i = seq & mask_;
  std::memcpy(data_.data() + i * kMaxPacketSize, packet.data(), packet.size());
  slots_[i] = Slot{seq, static_cast<std::uint16_t>(packet.size()), now_ms};
  return true;
}

rtc::ByteSpan PacketCache::find(std::uint16_t seq) const {
  std::size_t i = seq & mask_;
  const Slot& s = slots_[i];
  if (s.size == 0 || s.seq != seq) return {};
  return rtc::ByteSpan(data_.data() + i * kMaxPacketSize, s.size);
}

rtc::ByteSpan PacketCache::find(std::uint16_t seq, std::int64_t now_ms,
                                std::int64_t max_age_ms) const {
  std::size_t i = seq & mask_;
  if (slots_[i].size == 0 || now_ms - slots_[i].stored_ms > max_age_ms) return {};
  return find(seq);
}

}  // namespace hype::sfu
