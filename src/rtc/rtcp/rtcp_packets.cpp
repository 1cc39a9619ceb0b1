#include "rtc/rtcp/rtcp_packets.hpp"

#include <cstring>

namespace hype::rtc::rtcp {

bool RtcpReader::next(RtcpHeader& out) {
  if (status_ != RtcpParseStatus::kOk || off_ >= data_.size()) return false;
  std::size_t left = data_.size() - off_;
  const std::uint8_t* p = data_.data() + off_;
  if (left < 4) {
    status_ = RtcpParseStatus::kTooShort;
    return false;
  }
  if ((p[0] >> 6) != 2) {
    status_ = RtcpParseStatus::kBadVersion;
    return false;
  }
  std::size_t len = (std::size_t{load_be16(p + 2)} + 1) * 4;
  if (len > left) {
    status_ = RtcpParseStatus::kBadLength;
    return false;
  }
  std::size_t pad = 0;
  if (p[0] & 0x20) {
    pad = p[len - 1];
    if (pad == 0 || pad > len - 4) {
      status_ = RtcpParseStatus::kBadPadding;
      return false;
    }
  }
  out.count = p[0] & 0x1F;
  out.type = p[1];
  out.packet = data_.subspan(off_, len);
  out.body = data_.subspan(off_ + 4, len - 4 - pad);
  off_ += len;
  return true;
}

RtcpParseStatus validate_compound(ByteSpan data) {
  if (data.size() < 4) return RtcpParseStatus::kTooShort;
  RtcpReader r(data);
  RtcpHeader h;
  while (r.next(h)) {
  }
  return r.status();
}

ReportBlock ReportView::block(std::size_t i) const {
  const std::uint8_t* p = blocks.data() + 24 * i;
  ReportBlock b;
  b.ssrc = load_be32(p);
  b.fraction_lost = p[4];
  std::uint32_t lost = load_be24(p + 5);
  b.cumulative_lost = (lost & 0x800000) ? static_cast<std::int32_t>(lost | 0xFF000000u)
                                        : static_cast<std::int32_t>(lost);
  b.extended_highest_seq = load_be32(p + 8);
  b.jitter = load_be32(p + 12);
  b.last_sr = load_be32(p + 16);
  b.delay_since_last_sr = load_be32(p + 20);
  return b;
}

bool parse_report(const RtcpHeader& h, ReportView& out) {
  ByteSpan b = h.body;
  ReportView v;
  std::size_t off = 0;
  if (h.type == kSr) {
    if (b.size() < 24) return false;
    v.is_sender_report = true;
    v.sender.ssrc = load_be32(b.data());
    v.sender.ntp_timestamp = load_be64(b.data() + 4);
    v.sender.rtp_timestamp = load_be32(b.data() + 12);
    v.sender.packet_count = load_be32(b.data() + 16);
    v.sender.octet_count = load_be32(b.data() + 20);
    off = 24;
  } else if (h.type == kRr) {
    if (b.size() < 4) return false;
    v.sender.ssrc = load_be32(b.data());
    off = 4;
  } else {
    return false;
  }
  v.block_count = h.count;
  if (off + 24 * v.block_count > b.size()) return false;
  v.blocks = b.subspan(off, 24 * v.block_count);
  out = v;
  return true;
}

bool parse_feedback(const RtcpHeader& h, FeedbackView& out) {
  if ((h.type != kRtpfb && h.type != kPsfb) || h.body.size() < 8) return false;
  out.sender_ssrc = load_be32(h.body.data());
  out.media_ssrc = load_be32(h.body.data() + 4);
  out.fci = h.body.subspan(8);
  return true;
}

FirEntry fir_entry(const FeedbackView& fb, std::size_t i) {
  const std::uint8_t* p = fb.fci.data() + 8 * i;
  return {load_be32(p), p[4]};
}

bool parse_remb(const FeedbackView& fb, Remb& out) {
  const ByteSpan f = fb.fci;
  if (f.size() < 8 || std::memcmp(f.data(), "REMB", 4) != 0) return false;
  std::size_t n = f[4];
  std::uint8_t exp = f[5] >> 2;
  std::uint64_t mantissa = (std::uint64_t{f[5] & 0x03u} << 16) | load_be16(f.data() + 6);
  if (8 + 4 * n > f.size()) return false;
  // An exponent this large would overflow; clamp instead of invoking UB on a hostile packet.
  out.bitrate_bps = exp > 45 ? UINT64_MAX : mantissa << exp;
  out.ssrc_count = n;
  out.ssrcs = f.subspan(8, 4 * n);
  return true;
}

bool parse_bye(const RtcpHeader& h, ByeView& out) {
  if (h.type != kBye) return false;
  std::size_t n = h.count;
  if (4 * n > h.body.size()) return false;
  out.ssrc_count = n;
  out.ssrcs = h.body.subspan(0, 4 * n);
  out.reason = {};
  std::size_t off = 4 * n;
  if (off < h.body.size()) {
    std::size_t len = h.body[off];
    if (off + 1 + len > h.body.size()) return false;
    out.reason = as_string_view(h.body.subspan(off + 1, len));
  }
  return true;
}

namespace {

// Writes the 4-byte common header with a placeholder length; finish_packet fixes it.
std::size_t begin_packet(ByteWriter& w, std::uint8_t count, std::uint8_t type) {
  std::size_t start = w.size();
  w.u8(static_cast<std::uint8_t>(0x80 | (count & 0x1F)));
  w.u8(type);
  w.u16(0);
  return start;
}

bool finish_packet(ByteWriter& w, std::size_t start) {
  if (!w.ok()) return false;
  std::size_t len = w.size() - start;
  if (len % 4 != 0 || len / 4 - 1 > 0xFFFF) return false;
  store_be16(w.at(start + 2), static_cast<std::uint16_t>(len / 4 - 1));
  return true;
}

void write_block(ByteWriter& w, const ReportBlock& b) {
  w.u32(b.ssrc);
  w.u8(b.fraction_lost);
  w.u24(static_cast<std::uint32_t>(b.cumulative_lost) & 0xFFFFFFu);
  w.u32(b.extended_highest_seq);
  w.u32(b.jitter);
  w.u32(b.last_sr);
  w.u32(b.delay_since_last_sr);
}

}  // namespace

bool write_sender_report(ByteWriter& w, const SenderInfo& s, std::span<const ReportBlock> rbs) {
  if (rbs.size() > 31) return false;
  auto start = begin_packet(w, static_cast<std::uint8_t>(rbs.size()), kSr);
  w.u32(s.ssrc);
  w.u32(static_cast<std::uint32_t>(s.ntp_timestamp >> 32));
  w.u32(static_cast<std::uint32_t>(s.ntp_timestamp));
  w.u32(s.rtp_timestamp);
  w.u32(s.packet_count);
  w.u32(s.octet_count);
  for (const auto& b : rbs) write_block(w, b);
  return finish_packet(w, start);
}

bool write_receiver_report(ByteWriter& w, std::uint32_t sender_ssrc,
                           std::span<const ReportBlock> rbs) {
  if (rbs.size() > 31) return false;
  auto start = begin_packet(w, static_cast<std::uint8_t>(rbs.size()), kRr);
  w.u32(sender_ssrc);
  for (const auto& b : rbs) write_block(w, b);
  return finish_packet(w, start);
}

bool write_sdes_cname(ByteWriter& w, std::uint32_t ssrc, std::string_view cname) {
  if (cname.size() > 255) return false;
  auto start = begin_packet(w, 1, kSdes);
  w.u32(ssrc);
  w.u8(1);  // CNAME
  w.u8(static_cast<std::uint8_t>(cname.size()));
  w.bytes(cname.data(), cname.size());
  // At least one null octet terminates the item list, then pad to 32 bits.
  std::size_t used = 4 + 2 + cname.size();
  w.zeros(4 - used % 4);
  return finish_packet(w, start);
}

bool write_bye(ByteWriter& w, std::span<const std::uint32_t> ssrcs, std::string_view reason) {
  if (ssrcs.size() > 31 || reason.size() > 255) return false;
  auto start = begin_packet(w, static_cast<std::uint8_t>(ssrcs.size()), kBye);
  for (auto s : ssrcs) w.u32(s);
  if (!reason.empty()) {
    w.u8(static_cast<std::uint8_t>(reason.size()));
    w.bytes(reason.data(), reason.size());
    w.zeros((4 - (1 + reason.size()) % 4) % 4);
  }
  return finish_packet(w, start);
}

bool write_nack(ByteWriter& w, std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                std::span<const std::uint16_t> lost) {
  if (lost.empty()) return false;
  auto start = begin_packet(w, kFmtNack, kRtpfb);
  w.u32(sender_ssrc);
  w.u32(media_ssrc);
  std::uint16_t pid = lost[0];
  std::uint16_t blp = 0;
  for (std::size_t i = 1; i < lost.size(); ++i) {
    auto d = static_cast<std::uint16_t>(lost[i] - pid);
    if (d == 0) continue;
    if (d <= 16) {
      blp = static_cast<std::uint16_t>(blp | (1u << (d - 1)));
      continue;
    }
    w.u16(pid);
    w.u16(blp);
    pid = lost[i];
    blp = 0;
  }
  w.u16(pid);
  w.u16(blp);
  return finish_packet(w, start);
}

bool write_pli(ByteWriter& w, std::uint32_t sender_ssrc, std::uint32_t media_ssrc) {
  auto start = begin_packet(w, kFmtPli, kPsfb);
  w.u32(sender_ssrc);
  w.u32(media_ssrc);
  return finish_packet(w, start);
}

bool write_fir(ByteWriter& w, std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
               std::uint8_t seq_nr) {
  auto start = begin_packet(w, kFmtFir, kPsfb);
  w.u32(sender_ssrc);
  w.u32(0);  // RFC 5104 4.3.1.2: media source SSRC unused, target is in the FCI
  w.u32(media_ssrc);
  w.u8(seq_nr);
  w.zeros(3);
  return finish_packet(w, start);
}

bool write_remb(ByteWriter& w, std::uint32_t sender_ssrc, std::uint64_t bitrate_bps,
                std::span<const std::uint32_t> ssrcs) {
  if (ssrcs.size() > 255) return false;
  std::uint8_t exp = 0;
  while (exp < 63 && (bitrate_bps >> exp) >= (1u << 18)) ++exp;
  auto mantissa = static_cast<std::uint32_t>(bitrate_bps >> exp);
  auto start = begin_packet(w, kFmtAfb, kPsfb);
  w.u32(sender_ssrc);
  w.u32(0);
  w.bytes("REMB", 4);
  w.u8(static_cast<std::uint8_t>(ssrcs.size()));
  w.u8(static_cast<std::uint8_t>((exp << 2) | ((mantissa >> 16) & 0x03)));
  w.u16(static_cast<std::uint16_t>(mantissa));
  for (auto s : ssrcs) w.u32(s);
  return finish_packet(w, start);
}

}  // namespace hype::rtc::rtcp
