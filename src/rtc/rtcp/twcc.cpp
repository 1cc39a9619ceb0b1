#include "rtc/rtcp/twcc.hpp"

#include <algorithm>

namespace hype::rtc::rtcp {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

void TwccBuilder::reset(std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                        std::uint8_t fb_pkt_count, std::optional<std::uint16_t> first_seq) {
  sender_ssrc_ = sender_ssrc;
  media_ssrc_ = media_ssrc;
  fb_count_ = fb_pkt_count;
  count_ = 0;
  have_reference_ = false;
  have_base_ = first_seq.has_value();
  base_seq_ = first_seq.value_or(0);
}

TwccAdd TwccBuilder::add_received(std::uint16_t seq, std::int64_t arrival_us) {
  if (!have_reference_) {
    const std::int64_t ref = floor_div(arrival_us, kTwccReferenceTickUs);
    reference_time_ = static_cast<std::int32_t>(ref & 0xFFFFFF);
    reference_us_ = ref * kTwccReferenceTickUs;
  }
  if (!have_base_) {
    base_seq_ = seq;
    have_base_ = true;
  }
  // An index "before" the base wraps to a large one: older than this feedback.
  const auto index = static_cast<std::uint16_t>(seq - base_seq_);
  // Far behind (more than a feedback's worth): not a late packet but a sender whose numbers
  // jumped (backwards, or forwards by more than half the space): kFull, so the caller starts
  // over at it rather than ignoring every packet until the numbers come round again.
  if (index >= 0x8000)
    return std::size_t{0x10000u - index} > kMaxPackets ? TwccAdd::kFull : TwccAdd::kLate;
  if (index >= kMaxPackets) return TwccAdd::kFull;
  // Rounded to the 250 us grid; deltas are differences of grid points (no drift).
  const std::int64_t t =
      floor_div(arrival_us - reference_us_ + kTwccDeltaTickUs / 2, kTwccDeltaTickUs);
  if (t < INT32_MIN / 2 || t > INT32_MAX / 2)
    return index < count_ ? TwccAdd::kLate : TwccAdd::kFull;
  auto fits = [](std::int64_t d) { return d >= INT16_MIN && d <= INT16_MAX; };
  // The received packets before and after it in sequence order (the reference before the
  // first): each delta is to the previous one.
  std::int64_t prev = 0;
  for (std::size_t i = std::min<std::size_t>(index, count_); i-- > 0;) {
    if (received_[i]) {
      prev = ticks_[i];
      break;
    }
  }
  if (index < count_) {
    if (received_[index]) return TwccAdd::kLate;  // a duplicate
    std::size_t next = index + 1;
    while (next < count_ && !received_[next]) ++next;  // count_ - 1 is always received
    if (!fits(t - prev) || !fits(ticks_[next] - t)) return TwccAdd::kLate;
  } else {
    if (!fits(t - prev)) return TwccAdd::kFull;
    for (std::size_t i = count_; i < index; ++i) received_[i] = 0;
    count_ = std::size_t{index} + 1;
  }
  have_reference_ = true;
  received_[index] = 1;
  ticks_[index] = static_cast<std::int32_t>(t);
  return TwccAdd::kAdded;
}

bool TwccBuilder::write(ByteWriter& w) const {
  if (count_ == 0) return false;
  std::size_t start = w.size();
  w.u8(0x80 | kFmtTwcc);  // the P bit is patched below if padding is needed
  w.u8(kRtpfb);
  w.u16(0);
  w.u32(sender_ssrc_);
  w.u32(media_ssrc_);
  w.u16(base_seq_);
  w.u16(static_cast<std::uint16_t>(count_));
  w.u24(static_cast<std::uint32_t>(reference_time_) & 0xFFFFFF);
  w.u8(fb_count_);

  // Symbols: 0 not received, 1 small delta (0..255 ticks), 2 large or negative delta.
  std::array<std::uint8_t, kMaxPackets> status{};
  std::array<std::int16_t, kMaxPackets> delta{};
  std::int64_t prev = 0;
  for (std::size_t k = 0; k < count_; ++k) {
    if (!received_[k]) continue;
    const std::int64_t d = ticks_[k] - prev;
    prev = ticks_[k];
    delta[k] = static_cast<std::int16_t>(d);
    status[k] = d >= 0 && d <= 255 ? 1 : 2;
  }

  // Packet status chunks.
  std::size_t i = 0;
  while (i < count_) {
    std::size_t run = 1;
    while (i + run < count_ && status[i + run] == status[i] && run < 8191) ++run;
    std::size_t left = count_ - i;
    // A run-length chunk wins when the run is at least as long as a 2-bit vector, or
    // covers what a 1-bit vector would.
    bool any_large = false;
    for (std::size_t k = i; k < i + std::min<std::size_t>(14, left); ++k) {
      any_large |= status[k] == 2;
    }
    if (run >= 14 || (run >= 7 && any_large) || run == left) {
      w.u16(static_cast<std::uint16_t>((status[i] << 13) | run));
      i += run;
    } else if (!any_large) {
      std::uint16_t chunk = 0x8000;  // status vector, 1-bit symbols
      for (std::size_t k = 0; k < 14; ++k) {
        if (i + k < count_ && status[i + k]) chunk |= static_cast<std::uint16_t>(1u << (13 - k));
      }
      w.u16(chunk);
      i += std::min<std::size_t>(14, left);
    } else {
      std::uint16_t chunk = 0xC000;  // status vector, 2-bit symbols
      for (std::size_t k = 0; k < 7; ++k) {
        if (i + k < count_) {
          chunk |= static_cast<std::uint16_t>(status[i + k] << (2 * (6 - k)));
        }
      }
      w.u16(chunk);
      i += std::min<std::size_t>(7, left);
    }
  }
  // Receive deltas.
  for (std::size_t k = 0; k < count_; ++k) {
    if (status[k] == 1) {
      w.u8(static_cast<std::uint8_t>(delta[k]));
    } else if (status[k] == 2) {
      w.u16(static_cast<std::uint16_t>(delta[k]));
    }
  }
  // RTCP padding (as libwebrtc does): zeros and a final count byte, P bit set.
  std::size_t len = w.size() - start;
  std::size_t pad = (4 - len % 4) % 4;
  if (pad) {
    w.zeros(pad - 1);
    w.u8(static_cast<std::uint8_t>(pad));
  }
  if (!w.ok()) return false;
  if (pad) w.at(start)[0] |= 0x20;
  std::size_t total = w.size() - start;
  if (total / 4 - 1 > 0xFFFF) return false;
  store_be16(w.at(start + 2), static_cast<std::uint16_t>(total / 4 - 1));
  return true;
}

bool parse_twcc(const FeedbackView& fb, TwccHeader& h, std::span<TwccPacketResult> out) {
  ByteSpan f = fb.fci;
  if (f.size() < 8) return false;
  h.sender_ssrc = fb.sender_ssrc;
  h.media_ssrc = fb.media_ssrc;
  h.base_seq = load_be16(f.data());
  h.status_count = load_be16(f.data() + 2);
  std::uint32_t ref = load_be24(f.data() + 4);
  h.reference_time = (ref & 0x800000) ? static_cast<std::int32_t>(ref | 0xFF000000u)
                                      : static_cast<std::int32_t>(ref);
  h.fb_pkt_count = f[7];
  std::size_t n = h.status_count;
  if (n == 0 || n > out.size()) return false;

  // Chunks: decode statuses into out[k].arrival_us temporarily (0/1/2).
  std::size_t off = 8;
  std::size_t k = 0;
  while (k < n) {
    if (off + 2 > f.size()) return false;
    std::uint16_t c = load_be16(f.data() + off);
    off += 2;
    if ((c & 0x8000) == 0) {
      std::uint8_t sym = (c >> 13) & 0x03;
      std::size_t run = c & 0x1FFF;
      for (std::size_t r = 0; r < run && k < n; ++r) out[k++].arrival_us = sym;
    } else if ((c & 0x4000) == 0) {
      for (int b = 13; b >= 0 && k < n; --b) out[k++].arrival_us = (c >> b) & 1;
    } else {
      for (int b = 6; b >= 0 && k < n; --b) out[k++].arrival_us = (c >> (2 * b)) & 3;
    }
  }
  std::int64_t t = std::int64_t{h.reference_time} * kTwccReferenceTickUs;
  for (k = 0; k < n; ++k) {
    auto sym = out[k].arrival_us;
    out[k].seq = static_cast<std::uint16_t>(h.base_seq + k);
    out[k].received = sym != 0;
    out[k].arrival_us = 0;
    if (sym == 1) {
      if (off + 1 > f.size()) return false;
      t += f[off] * kTwccDeltaTickUs;
      off += 1;
    } else if (sym == 2) {
      if (off + 2 > f.size()) return false;
      t += static_cast<std::int16_t>(load_be16(f.data() + off)) * kTwccDeltaTickUs;
      off += 2;
    } else if (sym == 3) {
      return false;  // reserved symbol
    }
    if (sym) out[k].arrival_us = t;
  }
  return true;
}

}  // namespace hype::rtc::rtcp
