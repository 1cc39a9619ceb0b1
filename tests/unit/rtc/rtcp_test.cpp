#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtcp/twcc.hpp"

using namespace hype::rtc;
using namespace hype::rtc::rtcp;

TEST(Rtcp, CompoundSrSdesRoundTrip) {
  std::uint8_t buf[512];
  ByteWriter w(buf);
  SenderInfo si{0x11111111, 0xe1b2c3d4a5b6c7d8ULL, 48000, 100, 16000};
  ReportBlock rb{0x22222222, 12, -3, 70000, 55, 0xc3d4a5b6, 65536};
  ASSERT_TRUE(write_sender_report(w, si, std::span(&rb, 1)));
  ASSERT_TRUE(write_sdes_cname(w, 0x11111111, "hype-cname"));
  ASSERT_EQ(validate_compound(ByteSpan(buf, w.size())), RtcpParseStatus::kOk);

  RtcpReader r(ByteSpan(buf, w.size()));
  RtcpHeader h;
  ASSERT_TRUE(r.next(h));
  EXPECT_EQ(h.type, kSr);
  ReportView rv;
  ASSERT_TRUE(parse_report(h, rv));
  EXPECT_TRUE(rv.is_sender_report);
  EXPECT_EQ(rv.sender.ntp_timestamp, si.ntp_timestamp);
  EXPECT_EQ(rv.sender.octet_count, 16000u);
  ASSERT_EQ(rv.block_count, 1u);
  auto b = rv.block(0);
  EXPECT_EQ(b.ssrc, rb.ssrc);
  EXPECT_EQ(b.fraction_lost, 12);
  EXPECT_EQ(b.cumulative_lost, -3);
  EXPECT_EQ(b.extended_highest_seq, 70000u);
  EXPECT_EQ(b.last_sr, 0xc3d4a5b6u);
  ASSERT_TRUE(r.next(h));
  EXPECT_EQ(h.type, kSdes);
  std::string cname;
  ASSERT_TRUE(for_each_sdes_item(h, [&](std::uint32_t ssrc, std::uint8_t t, std::string_view v) {
    EXPECT_EQ(ssrc, 0x11111111u);
    if (t == 1) cname = v;
  }));
  EXPECT_EQ(cname, "hype-cname");
  EXPECT_FALSE(r.next(h));
  EXPECT_EQ(r.status(), RtcpParseStatus::kOk);
}

TEST(Rtcp, SdesCnameLengthsAlignAndTerminate) {
  for (std::size_t len = 1; len < 12; ++len) {
    std::uint8_t buf[128];
    ByteWriter w(buf);
    ASSERT_TRUE(write_sdes_cname(w, 1, std::string(len, 'x')));
    RtcpReader r(ByteSpan(buf, w.size()));
    RtcpHeader h;
    ASSERT_TRUE(r.next(h));
    int items = 0;
    EXPECT_TRUE(for_each_sdes_item(h, [&](auto, auto, auto v) {
      ++items;
      EXPECT_EQ(v.size(), len);
    }));
    EXPECT_EQ(items, 1);
  }
}

TEST(Rtcp, ReceiverReportAndBye) {
  std::uint8_t buf[256];
  ByteWriter w(buf);
  ASSERT_TRUE(write_receiver_report(w, 7, {}));
  std::uint32_t ssrcs[2] = {1, 2};
  ASSERT_TRUE(write_bye(w, ssrcs, "leaving"));
  RtcpReader r(ByteSpan(buf, w.size()));
  RtcpHeader h;
  ASSERT_TRUE(r.next(h));
  ReportView rv;
  ASSERT_TRUE(parse_report(h, rv));
  EXPECT_FALSE(rv.is_sender_report);
  EXPECT_EQ(rv.sender.ssrc, 7u);
  EXPECT_EQ(rv.block_count, 0u);
  ASSERT_TRUE(r.next(h));
  ByeView bye;
  ASSERT_TRUE(parse_bye(h, bye));
  EXPECT_EQ(bye.ssrc_count, 2u);
  EXPECT_EQ(bye.ssrc(1), 2u);
  EXPECT_EQ(bye.reason, "leaving");
}

TEST(Rtcp, NackPacking) {
  std::uint8_t buf[256];
  ByteWriter w(buf);
  std::vector<std::uint16_t> lost = {65530, 65531, 65535, 0, 10, 100};
  ASSERT_TRUE(write_nack(w, 1, 2, lost));
  RtcpReader r(ByteSpan(buf, w.size()));
  RtcpHeader h;
  ASSERT_TRUE(r.next(h));
  EXPECT_EQ(h.type, kRtpfb);
  EXPECT_EQ(h.count, kFmtNack);
  FeedbackView fb;
  ASSERT_TRUE(parse_feedback(h, fb));
  EXPECT_EQ(fb.media_ssrc, 2u);
  EXPECT_EQ(fb.fci.size(), 8u);  // two PID/BLP pairs: 65530..10 and 100
  std::vector<std::uint16_t> got;
  for_each_nack(fb, [&](std::uint16_t s) { got.push_back(s); });
  EXPECT_EQ(got, lost);
}

TEST(Rtcp, PliFirRemb) {
  std::uint8_t buf[256];
  ByteWriter w(buf);
  ASSERT_TRUE(write_pli(w, 1, 0xabc));
  ASSERT_TRUE(write_fir(w, 1, 0xdef, 7));
  std::uint32_t ssrcs[2] = {10, 20};
  ASSERT_TRUE(write_remb(w, 1, 2'500'000, ssrcs));
  RtcpReader r(ByteSpan(buf, w.size()));
  RtcpHeader h;
  FeedbackView fb;

  ASSERT_TRUE(r.next(h));
  EXPECT_EQ(h.type, kPsfb);
  EXPECT_EQ(h.count, kFmtPli);
  ASSERT_TRUE(parse_feedback(h, fb));
  EXPECT_EQ(fb.media_ssrc, 0xabcu);
  EXPECT_EQ(h.packet.size(), 12u);

  ASSERT_TRUE(r.next(h));
  EXPECT_EQ(h.count, kFmtFir);
  ASSERT_TRUE(parse_feedback(h, fb));
  ASSERT_EQ(fir_entry_count(fb), 1u);
  EXPECT_EQ(fir_entry(fb, 0).ssrc, 0xdefu);
  EXPECT_EQ(fir_entry(fb, 0).seq_nr, 7);

  ASSERT_TRUE(r.next(h));
  EXPECT_EQ(h.count, kFmtAfb);
  ASSERT_TRUE(parse_feedback(h, fb));
  Remb remb;
  ASSERT_TRUE(parse_remb(fb, remb));
  // 2.5 Mbps needs exponent 4: mantissa 156250, exact.
  EXPECT_EQ(remb.bitrate_bps, 2'500'000u);
  ASSERT_EQ(remb.ssrc_count, 2u);
  EXPECT_EQ(remb.ssrc(1), 20u);
  EXPECT_FALSE(r.next(h));
}

TEST(Rtcp, RembLossyMantissa) {
  std::uint8_t buf[64];
  ByteWriter w(buf);
  ASSERT_TRUE(write_remb(w, 1, 123'456'789, {}));
  RtcpReader r(ByteSpan(buf, w.size()));
  RtcpHeader h;
  ASSERT_TRUE(r.next(h));
  FeedbackView fb;
  Remb remb;
  ASSERT_TRUE(parse_feedback(h, fb));
  ASSERT_TRUE(parse_remb(fb, remb));
  EXPECT_LE(remb.bitrate_bps, 123'456'789u);
  EXPECT_GT(remb.bitrate_bps, 123'456'789u - 512u);
}

TEST(Rtcp, RejectsMalformed) {
  std::vector<std::uint8_t> v = {0x80, 201, 0, 5, 0, 0, 0, 1};  // length beyond data
  EXPECT_EQ(validate_compound(v), RtcpParseStatus::kBadLength);
  v = {0x40, 201, 0, 1, 0, 0, 0, 1};
  EXPECT_EQ(validate_compound(v), RtcpParseStatus::kBadVersion);
  v = {0xa0, 201, 0, 1, 0, 0, 0, 9};  // padding larger than the body
  EXPECT_EQ(validate_compound(v), RtcpParseStatus::kBadPadding);
  v = {0x81, 201, 0, 1, 0, 0, 0, 1};  // RC=1 but no block
  RtcpReader r(v);
  RtcpHeader h;
  ASSERT_TRUE(r.next(h));
  ReportView rv;
  EXPECT_FALSE(parse_report(h, rv));
}

namespace {

std::vector<TwccPacketResult> twcc_round_trip(TwccBuilder& b, std::size_t* wire_size = nullptr) {
  std::uint8_t buf[8192];
  ByteWriter w(buf);
  EXPECT_TRUE(b.write(w));
  if (wire_size) *wire_size = w.size();
  RtcpReader r(ByteSpan(buf, w.size()));
  RtcpHeader h;
  EXPECT_TRUE(r.next(h));
  EXPECT_EQ(h.type, kRtpfb);
  EXPECT_EQ(h.count, kFmtTwcc);
  EXPECT_EQ(h.packet.size() % 4, 0u);
  FeedbackView fb;
  EXPECT_TRUE(parse_feedback(h, fb));
  TwccHeader th;
  std::vector<TwccPacketResult> out(4096);
  EXPECT_TRUE(parse_twcc(fb, th, out));
  out.resize(th.status_count);
  EXPECT_EQ(th.base_seq, b.base_seq());
  return out;
}

}  // namespace

TEST(Twcc, SmallDeltasAndLossesRoundTrip) {
  TwccBuilder b;
  b.reset(1, 2, 9);
  const std::int64_t t0 = 10'000'000;  // 10 s
  // seq 65534, 65535, (0 lost), 1, 2, ..., with 5 ms spacing
  std::vector<std::pair<std::uint16_t, std::int64_t>> in;
  std::uint16_t s = 65534;
  for (int i = 0; i < 40; ++i, ++s) {
    if (s == 0 || s == 20 || s == 21) continue;
    in.push_back({s, t0 + i * 5000});
  }
  for (auto [seq, t] : in) ASSERT_EQ(b.add_received(seq, t), TwccAdd::kAdded);
  auto out = twcc_round_trip(b);
  ASSERT_EQ(out.size(), 40u);
  std::size_t j = 0;
  for (const auto& r : out) {
    if (j < in.size() && r.seq == in[j].first) {
      EXPECT_TRUE(r.received) << r.seq;
      EXPECT_EQ(r.arrival_us, in[j].second) << r.seq;
      ++j;
    } else {
      EXPECT_FALSE(r.received) << r.seq;
    }
  }
  EXPECT_EQ(j, in.size());
}

TEST(Twcc, LargeAndNegativeDeltasUseTwoBitVectors) {
  TwccBuilder b;
  b.reset(1, 2, 0);
  std::int64_t t = 5'000'000;
  std::vector<std::int64_t> times = {t,          t + 250,    t + 100'000,  t + 90'000,
                                     t + 90'250, t + 90'500, t + 2'000'000};
  for (std::size_t i = 0; i < times.size(); ++i) {
    ASSERT_EQ(b.add_received(static_cast<std::uint16_t>(100 + i), times[i]), TwccAdd::kAdded);
  }
  auto out = twcc_round_trip(b);
  ASSERT_EQ(out.size(), times.size());
  for (std::size_t i = 0; i < times.size(); ++i) {
    EXPECT_TRUE(out[i].received);
    EXPECT_EQ(out[i].arrival_us, times[i]) << i;
  }
}

TEST(Twcc, LongRunsUseRunLength) {
  TwccBuilder b;
  b.reset(1, 2, 0);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(b.add_received(static_cast<std::uint16_t>(i), 1000 * i), TwccAdd::kAdded);
  std::size_t wire = 0;
  auto out = twcc_round_trip(b, &wire);
  ASSERT_EQ(out.size(), 1000u);
  EXPECT_EQ(out[999].arrival_us, 999'000);
  // 20 header bytes + one run-length chunk + 1000 one-byte deltas, padded.
  EXPECT_LE(wire, 20u + 2 + 1000 + 3);
}

TEST(Twcc, RejectsOutOfRangeAndOlderPackets) {
  TwccBuilder b;
  b.reset(1, 2, 0);
  ASSERT_EQ(b.add_received(10, 1'000'000), TwccAdd::kAdded);
  EXPECT_EQ(b.add_received(9, 1'000'500), TwccAdd::kLate);    // older than this feedback
  EXPECT_EQ(b.add_received(10, 1'000'600), TwccAdd::kLate);   // a duplicate
  EXPECT_EQ(b.add_received(11, 20'000'000), TwccAdd::kFull);  // delta beyond int16 ticks
  EXPECT_EQ(b.add_received(10 + TwccBuilder::kMaxPackets, 1'001'000), TwccAdd::kFull);
  EXPECT_EQ(b.add_received(11, 1'000'250), TwccAdd::kAdded);
}

// A packet that arrives after later ones (reordered on the way) fills its gap: reported
// received, with its own arrival time, and the packet after it keeps its own. Before, it
// started a new feedback at its number, which reported every packet after it as lost again.
TEST(Twcc, AReorderedPacketFillsItsGap) {
  TwccBuilder b;
  b.reset(1, 2, 0);
  const std::int64_t t0 = 3'000'000;
  ASSERT_EQ(b.add_received(100, t0), TwccAdd::kAdded);
  ASSERT_EQ(b.add_received(102, t0 + 5'000), TwccAdd::kAdded);
  ASSERT_EQ(b.add_received(103, t0 + 10'000), TwccAdd::kAdded);
  ASSERT_EQ(b.add_received(101, t0 + 12'000), TwccAdd::kAdded);  // after 102 and 103
  auto out = twcc_round_trip(b);
  ASSERT_EQ(out.size(), 4u);
  const std::int64_t want[] = {t0, t0 + 12'000, t0 + 5'000, t0 + 10'000};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(out[i].received) << i;
    EXPECT_EQ(out[i].arrival_us, want[i]) << i;
  }
}

// A feedback that starts where the previous one ended reports the packets lost between the
// two (before, it started at its first received packet, and those losses were never reported).
TEST(Twcc, AFeedbackStartsWhereThePreviousOneEnded) {
  TwccBuilder b;
  b.reset(1, 2, 0);
  ASSERT_EQ(b.add_received(500, 1'000'000), TwccAdd::kAdded);
  ASSERT_EQ(b.add_received(501, 1'001'000), TwccAdd::kAdded);
  const std::uint16_t next = b.end_seq();
  EXPECT_EQ(next, 502);
  b.reset(1, 2, 1, next);
  EXPECT_TRUE(b.empty());
  ASSERT_EQ(b.add_received(505, 1'100'000), TwccAdd::kAdded);  // 502-504 lost
  EXPECT_EQ(b.add_received(501, 1'100'100), TwccAdd::kLate);   // in the previous one
  auto out = twcc_round_trip(b);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].seq, 502);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_FALSE(out[i].received) << i;
  EXPECT_TRUE(out[3].received);
  EXPECT_EQ(out[3].arrival_us, 1'100'000);
}

// A receiver whose clock crosses 2^23 x 64 ms (about 6 days of uptime) flips the sign of the
// parsed reference time, and one crossing 2^24 x 64 ms wraps it: unwrapped, it keeps counting.
TEST(Twcc, ReferenceTimeUnwrapsAcrossTheSignFlipAndTheWrap) {
  TwccReferenceUnwrapper u;
  EXPECT_EQ(u.unwrap(0x7FFFFE), 0x7FFFFE);
  EXPECT_EQ(u.unwrap(0x7FFFFF), 0x7FFFFF);
  EXPECT_EQ(u.unwrap(-0x800000), 0x800000);  // parse_twcc's sign extension of 0x800000
  EXPECT_EQ(u.unwrap(-0x7FFFFF), 0x800001);
  EXPECT_EQ(u.unwrap(-1), 0xFFFFFF);
  EXPECT_EQ(u.unwrap(0), 0x1000000);  // the 24-bit wrap
  EXPECT_EQ(u.unwrap(-3), 0xFFFFFD);  // a feedback from a little earlier (reordered)
}

// A sender whose transport-wide numbers jump back (a restart) or forward by more than half the
// space is started over at, not ignored until its numbers come round again.
TEST(Twcc, ANumberFarBehindTheFeedbackIsARestart) {
  TwccBuilder b;
  b.reset(1, 2, 0, 20000);
  ASSERT_EQ(b.add_received(20000, 1'000'000), TwccAdd::kAdded);
  EXPECT_EQ(b.add_received(19990, 1'001'000), TwccAdd::kLate);  // reordered a little
  EXPECT_EQ(b.add_received(1, 1'002'000), TwccAdd::kFull);      // numbers started over
}

TEST(Twcc, ParserRejectsTruncated) {
  TwccBuilder b;
  b.reset(1, 2, 0);
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(b.add_received(static_cast<std::uint16_t>(i), 7000 * i), TwccAdd::kAdded);
  std::uint8_t buf[512];
  ByteWriter w(buf);
  ASSERT_TRUE(b.write(w));
  FeedbackView fb;
  fb.fci = ByteSpan(buf + 12, w.size() - 12 - 10);  // cut into the deltas
  TwccHeader th;
  std::vector<TwccPacketResult> out(64);
  EXPECT_FALSE(parse_twcc(fb, th, out));
  fb.fci = ByteSpan(buf + 12, w.size() - 12);
  std::vector<TwccPacketResult> small(5);
  EXPECT_FALSE(parse_twcc(fb, th, small));
}
