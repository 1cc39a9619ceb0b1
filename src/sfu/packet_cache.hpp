// Per-track cache of recently received RTP packets (decrypted, as the publisher sent them),
// so a subscriber's NACK is answered by the SFU without asking the publisher. Fixed storage
// allocated once: a power-of-two ring of slots indexed by sequence number, each slot big
// enough for one MTU-sized packet. A lookup only hits when the slot still holds exactly
// that sequence number, so wrap-around and overwritten slots never answer wrongly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtc/bytes.hpp"

namespace hype::sfu {

class PacketCache {
 public:
  static constexpr std::size_t kMaxPacketSize = 1500;

  // capacity is rounded up to a power of two (audio: 256 packets = ~5 s at 20 ms).
  explicit PacketCache(std::size_t capacity = 256);

  // Stores a copy; false (and nothing stored) when the packet is larger than kMaxPacketSize.
  bool store(std::uint16_t seq, rtc::ByteSpan packet, std::int64_t now_ms);
  // The stored packet for seq, or an empty span. Valid until the slot is overwritten.
  rtc::ByteSpan find(std::uint16_t seq) const;
  // Same, but only when stored at most max_age_ms before now.
  rtc::ByteSpan find(std::uint16_t seq, std::int64_t now_ms, std::int64_t max_age_ms) const;

  std::size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    std::uint16_t seq = 0;
    std::uint16_t size = 0;  // 0: empty
    std::int64_t stored_ms = 0;
  };
  std::vector<Slot> slots_;
  std::vector<std::uint8_t> data_;
  std::size_t mask_ = 0;
};

}  // namespace hype::sfu
