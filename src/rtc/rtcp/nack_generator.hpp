// Receive-side NACK generation (RFC 4585 generic NACK): which sequence numbers of one incoming
// stream are missing and due to be asked for again. The SFU runs one per published video
// track, so a loss on a publisher's link is repaired once at the SFU, not once per watcher.
// A missing packet is asked for at most max_retries times, no more often than the retry
// interval (max(min_retry_ms, RTT)), and given up after max_age_ms; a late or repaired packet
// clears it. A jump of more than max_packets restarts the tracking (a new source or a long
// gap is not worth a NACK storm); a packet older than the newest only clears its gap (a
// sender restarting lower in the sequence space is a new SSRC in practice). Fixed storage:
// nothing allocates after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hype::rtc {

struct NackOptions {
  int max_packets = 256;  // how far behind the newest packet a gap is still tracked
  std::int64_t max_age_ms = 1000;
  int max_retries = 10;
  std::int64_t min_retry_ms = 20;
};

class NackGenerator {
 public:
  explicit NackGenerator(NackOptions o = {});

  // A media (or repaired) packet arrived.
  void on_packet(std::uint16_t seq, std::int64_t now_ms);
  void set_rtt_ms(std::int64_t rtt);
  // Sequence numbers to NACK now (at most out.size(), oldest first); marks them as asked.
  std::size_t collect(std::int64_t now_ms, std::span<std::uint16_t> out);
  // Gaps tracked (within max_packets of the newest; one past max_age or max_retries counts
  // until the next collect() gives it up).
  std::size_t missing() const { return missing_; }
  void reset();

 private:
  struct Entry {
    std::int64_t seq = -1;       // extended sequence number, -1: not missing
    std::int64_t since_ms = 0;   // when the gap was seen
    std::int64_t asked_ms = -1;  // last NACK, -1: never
    int retries = 0;
  };
  Entry& at(std::int64_t ext) { return ring_[static_cast<std::size_t>(ext) & mask_]; }
  void clear(std::int64_t ext);

  NackOptions o_;
  std::vector<Entry> ring_;
  std::size_t mask_ = 0;
  std::int64_t newest_ = -1;  // extended sequence number of the newest packet
  std::int64_t rtt_ms_ = 0;
  std::size_t missing_ = 0;
};

}  // namespace hype::rtc
