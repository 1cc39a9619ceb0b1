// RTCP (RFC 3550, RFC 4585, RFC 5104, REMB draft) for an SFU: a reader that walks a compound
// packet with bounds checks, zero-copy views for the packet types the SFU acts on, and
// builders that append to a ByteWriter so a compound (e.g. RR + REMB + NACK) is assembled in
// one caller buffer without allocation. Transport-wide CC feedback lives in twcc.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rtc/bytes.hpp"

namespace hype::rtc::rtcp {

inline constexpr std::uint8_t kSr = 200;
inline constexpr std::uint8_t kRr = 201;
inline constexpr std::uint8_t kSdes = 202;
inline constexpr std::uint8_t kBye = 203;
inline constexpr std::uint8_t kApp = 204;
inline constexpr std::uint8_t kRtpfb = 205;  // transport layer feedback
inline constexpr std::uint8_t kPsfb = 206;   // payload-specific feedback
inline constexpr std::uint8_t kXr = 207;

inline constexpr std::uint8_t kFmtNack = 1;   // RTPFB
inline constexpr std::uint8_t kFmtTwcc = 15;  // RTPFB
inline constexpr std::uint8_t kFmtPli = 1;    // PSFB
inline constexpr std::uint8_t kFmtFir = 4;    // PSFB
inline constexpr std::uint8_t kFmtAfb = 15;   // PSFB application layer (REMB)

// One packet of a compound: header fields plus its body (after the 4-byte header, padding
// removed).
struct RtcpHeader {
  std::uint8_t count = 0;  // RC / SC / FMT, depending on the type
  std::uint8_t type = 0;
  ByteSpan packet;  // the whole packet including header and padding
  ByteSpan body;
};

enum class RtcpParseStatus : std::uint8_t { kOk, kTooShort, kBadVersion, kBadLength, kBadPadding };

// Iterates a compound packet: while (r.next(h)) {...}; then check r.status().
class RtcpReader {
 public:
  explicit RtcpReader(ByteSpan data) : data_(data) {}
  bool next(RtcpHeader& out);
  RtcpParseStatus status() const { return status_; }

 private:
  ByteSpan data_;
  std::size_t off_ = 0;
  RtcpParseStatus status_ = RtcpParseStatus::kOk;
};

// Validates a whole compound without looking inside packets.
RtcpParseStatus validate_compound(ByteSpan data);

struct ReportBlock {
  std::uint32_t ssrc = 0;
  std::uint8_t fraction_lost = 0;
  std::int32_t cumulative_lost = 0;  // 24-bit signed on the wire
  std::uint32_t extended_highest_seq = 0;
  std::uint32_t jitter = 0;
  std::uint32_t last_sr = 0;              // middle 32 bits of the NTP timestamp of the last SR
  std::uint32_t delay_since_last_sr = 0;  // 1/65536 s
};

struct SenderInfo {
  std::uint32_t ssrc = 0;
  std::uint64_t ntp_timestamp = 0;
  std::uint32_t rtp_timestamp = 0;
  std::uint32_t packet_count = 0;
  std::uint32_t octet_count = 0;
};

// SR and RR share the report block list; `sender` is filled for SR only.
struct ReportView {
  bool is_sender_report = false;
  SenderInfo sender;  // sender.ssrc is the reporter's SSRC in both cases
  std::size_t block_count = 0;
  ByteSpan blocks;
  ReportBlock block(std::size_t i) const;
};
bool parse_report(const RtcpHeader& h, ReportView& out);

struct FeedbackView {  // common RTPFB/PSFB header (RFC 4585 6.1)
  std::uint32_t sender_ssrc = 0;
  std::uint32_t media_ssrc = 0;
  ByteSpan fci;
};
bool parse_feedback(const RtcpHeader& h, FeedbackView& out);

// Generic NACK: calls fn(uint16_t seq) for every lost sequence number.
template <typename Fn>
void for_each_nack(const FeedbackView& fb, Fn&& fn) {
  for (std::size_t i = 0; i + 4 <= fb.fci.size(); i += 4) {
    std::uint16_t pid = load_be16(fb.fci.data() + i);
    std::uint16_t blp = load_be16(fb.fci.data() + i + 2);
    fn(pid);
    for (int b = 0; b < 16; ++b) {
      if (blp & (1u << b)) fn(static_cast<std::uint16_t>(pid + b + 1));
    }
  }
}

struct FirEntry {
  std::uint32_t ssrc = 0;
  std::uint8_t seq_nr = 0;
};
inline std::size_t fir_entry_count(const FeedbackView& fb) {
  return fb.fci.size() / 8;
}
FirEntry fir_entry(const FeedbackView& fb, std::size_t i);

struct Remb {
  std::uint64_t bitrate_bps = 0;
  std::size_t ssrc_count = 0;
  ByteSpan ssrcs;
  std::uint32_t ssrc(std::size_t i) const { return load_be32(ssrcs.data() + 4 * i); }
};
// fb must come from a PSFB/AFB packet; false if it is not REMB or is truncated.
bool parse_remb(const FeedbackView& fb, Remb& out);

// SDES: calls fn(ssrc, item_type, std::string_view value) for every item (1 = CNAME).
template <typename Fn>
bool for_each_sdes_item(const RtcpHeader& h, Fn&& fn);

struct ByeView {
  std::size_t ssrc_count = 0;
  ByteSpan ssrcs;
  std::string_view reason;
  std::uint32_t ssrc(std::size_t i) const { return load_be32(ssrcs.data() + 4 * i); }
};
bool parse_bye(const RtcpHeader& h, ByeView& out);

// ---- builders: append one packet to w, return false on overflow or bad input ----
bool write_sender_report(ByteWriter& w, const SenderInfo& s, std::span<const ReportBlock> rbs);
bool write_receiver_report(ByteWriter& w, std::uint32_t sender_ssrc,
                           std::span<const ReportBlock> rbs);
bool write_sdes_cname(ByteWriter& w, std::uint32_t ssrc, std::string_view cname);
bool write_bye(ByteWriter& w, std::span<const std::uint32_t> ssrcs, std::string_view reason = {});
// Packs the (sorted or unsorted) lost sequence numbers into PID/BLP pairs.
bool write_nack(ByteWriter& w, std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                std::span<const std::uint16_t> lost);
bool write_pli(ByteWriter& w, std::uint32_t sender_ssrc, std::uint32_t media_ssrc);
bool write_fir(ByteWriter& w, std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
               std::uint8_t seq_nr);
bool write_remb(ByteWriter& w, std::uint32_t sender_ssrc, std::uint64_t bitrate_bps,
                std::span<const std::uint32_t> ssrcs);

// ---- template definitions ----
template <typename Fn>
bool for_each_sdes_item(const RtcpHeader& h, Fn&& fn) {
  if (h.type != kSdes) return false;
  ByteSpan b = h.body;
  std::size_t off = 0;
  for (std::size_t c = 0; c < h.count; ++c) {
    if (off + 4 > b.size()) return false;
    std::uint32_t ssrc = load_be32(b.data() + off);
    off += 4;
    for (;;) {
      if (off >= b.size()) return false;
      std::uint8_t type = b[off];
      if (type == 0) {  // end of items; skip to the next 32-bit boundary
        off = (off + 4) & ~std::size_t{3};
        break;
      }
      if (off + 2 > b.size()) return false;
      std::size_t len = b[off + 1];
      if (off + 2 + len > b.size()) return false;
      fn(ssrc, type, as_string_view(b.subspan(off + 2, len)));
      off += 2 + len;
    }
  }
  return true;
}

}  // namespace hype::rtc::rtcp
