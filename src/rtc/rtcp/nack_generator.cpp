#include "rtc/rtcp/nack_generator.hpp"

#include <algorithm>

namespace hype::rtc {

NackGenerator::NackGenerator(NackOptions o) : o_(o) {
  // Beyond half the sequence space a gap could not be told from a packet arriving late.
  o_.max_packets = std::clamp(o_.max_packets, 1, 16384);
  std::size_t n = 1;
  while (n < static_cast<std::size_t>(std::max(o_.max_packets, 1)) * 2) n <<= 1;
  ring_.resize(n);
  mask_ = n - 1;
}

void NackGenerator::reset() {
  for (auto& e : ring_) e = Entry{};
  newest_ = -1;
  missing_ = 0;
}

void NackGenerator::set_rtt_ms(std::int64_t rtt) {
  rtt_ms_ = std::max<std::int64_t>(rtt, 0);
}

void NackGenerator::clear(std::int64_t ext) {
  if (ext < 0) return;  // before the first packet (a late one across the wrap): never missing
  Entry& e = at(ext);
  if (e.seq == ext) {
    e.seq = -1;
    --missing_;
  }
}

void NackGenerator::on_packet(std::uint16_t seq, std::int64_t now_ms) {
  if (newest_ < 0) {
    newest_ = seq;
    return;
  }
  // Extend to the value closest to the newest one (RFC 3550 A.1 style).
  auto delta = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - (newest_ & 0xFFFF)));
  std::int64_t ext = newest_ + delta;
  if (ext <= newest_) {  // late, reordered or a repair: no longer missing
    if (newest_ - ext < static_cast<std::int64_t>(ring_.size())) clear(ext);
    return;
  }
  if (ext - newest_ > o_.max_packets) {
    // A jump this long is a restart (or an outage no NACK can fix): track afresh.
    reset();
    newest_ = ext;
    return;
  }
  // Gaps that fall out of the window are no longer tracked (nor counted by missing()).
  for (std::int64_t m = newest_ - o_.max_packets; m < ext - o_.max_packets; ++m) clear(m);
  for (std::int64_t m = newest_ + 1; m < ext; ++m) {
    Entry& e = at(m);
    if (e.seq >= 0) --missing_;  // an entry too old to matter, overwritten
    e = Entry{m, now_ms, -1, 0};
    ++missing_;
  }
  if (Entry& e = at(ext); e.seq >= 0) {  // a slot still holding a gap from long ago
    e.seq = -1;
    --missing_;
  }
  newest_ = ext;
}

std::size_t NackGenerator::collect(std::int64_t now_ms, std::span<std::uint16_t> out) {
  if (missing_ == 0 || newest_ < 0) return 0;
  std::size_t n = 0;
  const std::int64_t retry = std::max(o_.min_retry_ms, rtt_ms_);
  const std::int64_t oldest = newest_ - o_.max_packets;
  for (std::int64_t m = std::max<std::int64_t>(oldest, 0); m < newest_ && n < out.size(); ++m) {
    Entry& e = at(m);
    if (e.seq != m) continue;
    if (now_ms - e.since_ms > o_.max_age_ms || e.retries >= o_.max_retries) {
      e.seq = -1;  // given up
      --missing_;
      continue;
    }
    if (e.asked_ms >= 0 && now_ms - e.asked_ms < retry) continue;
    e.asked_ms = now_ms;
    ++e.retries;
    out[n++] = static_cast<std::uint16_t>(m & 0xFFFF);
  }
  return n;
}

}  // namespace hype::rtc
