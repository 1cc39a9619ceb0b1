// RTCP compound reader and every typed parser, including transport-wide CC feedback.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "rtc/bwe/send_side_bwe.hpp"
#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtcp/twcc.hpp"

using namespace hype::rtc;
using namespace hype::rtc::rtcp;

namespace {

// The downlink estimator on fuzz-parsed feedback: packets "sent" under the sequence numbers
// the feedback names (every seventh a probe, sent whole before any feedback; send times from
// the input), then the feedback,
// then again as a duplicate. It must stay within its bounds whatever the arrival times.
void feed_estimator(std::span<const TwccPacketResult> results, std::uint8_t salt) {
  auto owned = std::make_unique<hype::rtc::bwe::SendSideBwe>();  // fresh: deterministic
  auto& bwe = *owned;
  std::int64_t t = 0;
  for (std::size_t k = 0; k < results.size() && k < 4096; ++k) {
    t += (salt >> (k % 8)) & 0x0F;
    bwe.on_packet_sent(results[k].seq, (k * salt) % 1500, t, k % 7 == 0 ? salt % 3 : -1);
  }
  bwe.on_probe_sent(salt % 3, salt * 20'000u, t);
  bwe.on_feedback(results, t + salt * 1000);
  bwe.on_feedback(results, t + salt * 2000);
  (void)bwe.next_probe(t);
  double loss = bwe.loss_fraction();
  if (bwe.target_bps() < 30'000 || bwe.target_bps() > 20'000'000) __builtin_trap();
  if (!(loss >= 0 && loss <= 1)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::array<TwccPacketResult, 65536> twcc_out;
  volatile std::uint64_t sink = 0;
  RtcpReader r(ByteSpan(data, size));
  RtcpHeader h;
  while (r.next(h)) {
    ReportView rv;
    if (parse_report(h, rv)) {
      for (std::size_t i = 0; i < rv.block_count; ++i) sink = sink + rv.block(i).jitter;
    }
    FeedbackView fb;
    if (parse_feedback(h, fb)) {
      if (h.type == kRtpfb && h.count == kFmtNack) {
        for_each_nack(fb, [&](std::uint16_t s) { sink = sink + s; });
      }
      if (h.type == kRtpfb && h.count == kFmtTwcc) {
        TwccHeader th;
        if (parse_twcc(fb, th, twcc_out)) {
          sink = sink + twcc_out[th.status_count - 1].arrival_us;
          feed_estimator(std::span(twcc_out.data(), th.status_count), data[size - 1]);
        }
      }
      if (h.type == kPsfb && h.count == kFmtFir) {
        for (std::size_t i = 0; i < fir_entry_count(fb); ++i) sink = sink + fir_entry(fb, i).ssrc;
      }
      Remb remb;
      if (h.type == kPsfb && parse_remb(fb, remb)) {
        for (std::size_t i = 0; i < remb.ssrc_count; ++i) sink = sink + remb.ssrc(i);
      }
    }
    for_each_sdes_item(h, [&](std::uint32_t ssrc, std::uint8_t, std::string_view v) {
      sink = sink + ssrc + v.size();
    });
    ByeView bye;
    if (parse_bye(h, bye)) {
      for (std::size_t i = 0; i < bye.ssrc_count; ++i) sink = sink + bye.ssrc(i);
    }
  }

  // Builder/parser oracle: TWCC feedback built from fuzz-chosen arrivals must parse back
  // to exactly what went in.
  if (size >= 4) {
    TwccBuilder b;
    b.reset(1, 2, 3);
    std::int64_t t = 1'000'000;
    std::uint16_t seq = load_be16(data);
    std::size_t added = 0;
    std::array<std::pair<std::uint16_t, std::int64_t>, 512> in{};
    for (std::size_t i = 2; i + 1 < size && added < in.size(); i += 2) {
      seq = static_cast<std::uint16_t>(seq + 1 + (data[i] & 0x03));
      t += static_cast<std::int64_t>(static_cast<std::int8_t>(data[i + 1])) * 1000;
      if (b.add_received(seq, t) != TwccAdd::kAdded) break;
      in[added++] = {seq, t};
    }
    if (added > 0) {
      std::array<std::uint8_t, 8192> buf;
      ByteWriter w(buf);
      if (!b.write(w)) __builtin_trap();
      RtcpReader rr(ByteSpan(buf.data(), w.size()));
      RtcpHeader hh;
      FeedbackView fb;
      TwccHeader th;
      if (!rr.next(hh) || !parse_feedback(hh, fb) || !parse_twcc(fb, th, twcc_out)) {
        __builtin_trap();
      }
      std::size_t j = 0;
      for (std::size_t k = 0; k < th.status_count; ++k) {
        if (!twcc_out[k].received) continue;
        if (j >= added || twcc_out[k].seq != in[j].first) __builtin_trap();
        // Arrival times are quantised to 250 us ticks; the error never accumulates.
        std::int64_t err = twcc_out[k].arrival_us - in[j].second;
        if (err > 125 || err < -125) __builtin_trap();
        ++j;
      }
      if (j != added) __builtin_trap();
    }
  }
  return 0;
}
