// RTX (RFC 4588) both ways and receive-side NACK generation: write_forwarded with rtx_osn and
// unwrap_rtx give back the original packet; the NACK generator asks for gaps once per retry
// interval, forgets what arrives late, gives up, and does not storm on a jump.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "rtc/rtcp/nack_generator.hpp"
#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/rtp/rtx.hpp"

using namespace hype::rtc;

namespace {
std::vector<std::uint8_t> packet(std::uint16_t seq, const std::vector<std::uint8_t>& payload,
                                 std::uint8_t padding = 0) {
  std::vector<std::uint8_t> b = {0x80,
                                 96,
                                 static_cast<std::uint8_t>(seq >> 8),
                                 static_cast<std::uint8_t>(seq),
                                 0,
                                 0,
                                 0x10,
                                 0,
                                 0,
                                 0,
                                 0x13,
                                 0x88};  // ts 4096, ssrc 5000
  for (std::uint8_t x : payload) b.push_back(x);
  if (padding) {
    b[0] |= 0x20;
    for (int i = 1; i < padding; ++i) b.push_back(0);
    b.push_back(padding);
  }
  return b;
}
}  // namespace

TEST(Rtx, WriteThenUnwrapGivesBackTheOriginal) {
  for (std::uint8_t padding : {0, 4}) {
    auto orig = packet(1234, {1, 2, 3, 4, 5}, padding);
    RtpPacket src;
    ASSERT_EQ(RtpPacket::parse(orig, src), RtpParseStatus::kOk);
    PacketExtensions ext;
    ForwardHeader h{7000, 42, 99, 97, {}, false, 0};
    h.rtx_osn = 777;
    std::array<std::uint8_t, 200> out{};
    std::size_t n = write_forwarded(src, ext, ExtensionIds{}, h, out);
    ASSERT_EQ(n, orig.size() + 2);
    RtpPacket rtx;
    ASSERT_EQ(RtpPacket::parse(MutableByteSpan(out.data(), n), rtx), RtpParseStatus::kOk);
    EXPECT_EQ(rtx.ssrc(), 7000u);
    EXPECT_EQ(rtx.payload_type(), 97);
    EXPECT_EQ(rtx.sequence_number(), 42);
    ASSERT_EQ(rtx.payload().size(), 7u);
    EXPECT_EQ(rtx.payload()[0], 777 >> 8);
    EXPECT_EQ(rtx.payload()[1], 777 & 0xFF);
    ASSERT_TRUE(unwrap_rtx(MutableByteSpan(out.data(), out.size()), n, rtx, 100, 8000));
    EXPECT_EQ(n, orig.size());
    EXPECT_EQ(rtx.sequence_number(), 777);
    EXPECT_EQ(rtx.ssrc(), 8000u);
    EXPECT_EQ(rtx.payload_type(), 100);
    EXPECT_EQ(rtx.padding_size(), padding);
    ASSERT_EQ(rtx.payload().size(), 5u);
    EXPECT_EQ(rtx.payload()[0], 1);
    EXPECT_EQ(rtx.payload()[4], 5);
  }
}

TEST(Rtx, PaddingOnlyProbesAreNotUnwrapped) {
  auto probe = packet(9, {}, 8);
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(probe, p), RtpParseStatus::kOk);
  std::size_t n = probe.size();
  EXPECT_FALSE(unwrap_rtx(probe, n, p, 96, 1));
  EXPECT_EQ(n, probe.size());
  auto one = packet(9, {0x01});
  ASSERT_EQ(RtpPacket::parse(one, p), RtpParseStatus::kOk);
  n = one.size();
  EXPECT_FALSE(unwrap_rtx(one, n, p, 96, 1));
}

TEST(NackGenerator, AsksForAGapOncePerRetryIntervalUntilItArrives) {
  NackGenerator g;
  std::array<std::uint16_t, 16> out{};
  g.on_packet(100, 0);
  g.on_packet(103, 0);  // 101, 102 missing
  EXPECT_EQ(g.missing(), 2u);
  ASSERT_EQ(g.collect(0, out), 2u);
  EXPECT_EQ(out[0], 101);
  EXPECT_EQ(out[1], 102);
  EXPECT_EQ(g.collect(10, out), 0u);  // not again within the retry interval
  g.on_packet(101, 15);               // repaired
  ASSERT_EQ(g.collect(25, out), 1u);
  EXPECT_EQ(out[0], 102);
  g.set_rtt_ms(100);
  EXPECT_EQ(g.collect(60, out), 0u);  // the RTT is the interval now
  EXPECT_EQ(g.collect(130, out), 1u);
  g.on_packet(102, 140);
  EXPECT_EQ(g.missing(), 0u);
  EXPECT_EQ(g.collect(500, out), 0u);
}

TEST(NackGenerator, GivesUpAfterRetriesOrAge) {
  NackGenerator g({256, 1000, 3, 20});
  std::array<std::uint16_t, 16> out{};
  g.on_packet(1, 0);
  g.on_packet(3, 0);
  int asked = 0;
  for (std::int64_t t = 0; t < 500; t += 20) asked += static_cast<int>(g.collect(t, out));
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(g.missing(), 0u);
  NackGenerator old({256, 100, 10, 20});
  old.on_packet(1, 0);
  old.on_packet(3, 0);
  EXPECT_EQ(old.collect(150, out), 0u);  // too old to be worth asking
}

TEST(NackGenerator, WrapReorderAndJumps) {
  NackGenerator g;
  std::array<std::uint16_t, 300> out{};
  g.on_packet(65534, 0);
  g.on_packet(1, 0);  // 65535 and 0 missing across the wrap
  ASSERT_EQ(g.collect(0, out), 2u);
  EXPECT_EQ(out[0], 65535);
  EXPECT_EQ(out[1], 0);
  g.on_packet(65535, 1);  // late: clears, does not look like a jump back
  g.on_packet(0, 1);
  EXPECT_EQ(g.missing(), 0u);
  g.on_packet(5000, 2);  // a jump past max_packets: start over, no storm
  EXPECT_EQ(g.missing(), 0u);
  EXPECT_EQ(g.collect(100, out), 0u);
  g.on_packet(5002, 3);
  EXPECT_EQ(g.collect(100, out), 1u);
  EXPECT_EQ(out[0], 5001);
  g.on_packet(5001, 4);
  g.on_packet(5001, 4);  // duplicate
  EXPECT_EQ(g.missing(), 0u);
}
