// RTX (RFC 4588) round trips beyond rtx_nack_test.cpp: a packet with CSRCs and header
// extensions written as RTX for a subscriber and unwrapped again, byte-exact payload and
// padding; the same packet written without rtx_osn is unchanged by the option's existence;
// and unwrap_rtx refusing what it must not touch.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/rtp/rtx.hpp"

using namespace hype::rtc;
using Bytes = std::vector<std::uint8_t>;

namespace {
// V=2, X=1, CC=1, M=1, PT 96, seq 0xBEEF, ts 0x01020304, SSRC 0x11111111, CSRC 0x22222222,
// a one-byte extension block (audio level id 1, abs-send-time id 3), the payload, padding.
Bytes publisher_packet(const Bytes& payload, std::uint8_t padding) {
  Bytes b = {0x91, 0xE0, 0xBE, 0xEF, 1,    2,    3,    4,    0x11, 0x11, 0x11, 0x11, 0x22, 0x22,
             0x22, 0x22, 0xBE, 0xDE, 0x00, 0x02, 0x10, 0x85, 0x32, 0xAA, 0xBB, 0xCC, 0x00, 0x00};
  for (std::uint8_t x : payload) b.push_back(x);  // (insert trips g++ 12's -Warray-bounds)
  if (padding) {
    b[0] |= 0x20;
    for (int i = 1; i < padding; ++i) b.push_back(0);
    b.push_back(padding);
  }
  return b;
}
}  // namespace

TEST(RtxMore, ExtensionsCsrcsAndPaddingSurviveTheRoundTrip) {
  const Bytes payload = {0x90, 0x80, 0x12, 0x10, 0x01, 0x02, 0x03};
  for (std::uint8_t padding : {0, 1, 7}) {
    Bytes orig = publisher_packet(payload, padding);
    RtpPacket src;
    ASSERT_EQ(RtpPacket::parse(orig, src), RtpParseStatus::kOk);
    ExtensionIds pub;
    pub.audio_level = 1;
    pub.abs_send_time = 3;
    PacketExtensions ext;
    ASSERT_EQ(index_extensions(src, pub, ext), ExtensionStatus::kOk);
    ExtensionIds sub;  // the subscriber's own ids
    sub.audio_level = 5;
    sub.mid = 9;
    ForwardHeader h;
    h.ssrc = 0xABCDEF01;
    h.sequence_number = 7;
    h.timestamp = 0x0A0B0C0D;
    h.payload_type = 97;
    h.mid = "v1";
    h.rtx_osn = 0xFFFE;
    std::array<std::uint8_t, 256> out{};
    std::size_t n = write_forwarded(src, ext, sub, h, out);
    ASSERT_GT(n, 0u);
    RtpPacket rtx;
    ASSERT_EQ(RtpPacket::parse(MutableByteSpan(out.data(), n), rtx), RtpParseStatus::kOk);
    EXPECT_TRUE(rtx.marker());
    EXPECT_EQ(rtx.csrc_count(), 1);
    EXPECT_EQ(rtx.csrc(0), 0x22222222u);
    EXPECT_EQ(rtx.padding_size(), padding);
    ASSERT_EQ(rtx.payload().size(), payload.size() + 2);
    EXPECT_EQ(load_be16(rtx.payload().data()), 0xFFFE);
    ASSERT_TRUE(rtx.find_extension(9));

    // The subscriber's side: unwrap into its primary stream.
    ASSERT_TRUE(unwrap_rtx(out, n, rtx, 96, 0x01020304));
    EXPECT_EQ(rtx.sequence_number(), 0xFFFE);
    EXPECT_EQ(rtx.ssrc(), 0x01020304u);
    EXPECT_EQ(rtx.payload_type(), 96);
    EXPECT_EQ(rtx.timestamp(), 0x0A0B0C0Du);
    EXPECT_TRUE(rtx.marker());
    EXPECT_EQ(rtx.padding_size(), padding);
    EXPECT_EQ(Bytes(rtx.payload().begin(), rtx.payload().end()), payload);
    EXPECT_EQ(rtx.size(), n);
    ASSERT_TRUE(rtx.find_extension(5));  // the extension block is kept as written
    EXPECT_EQ(rtx.find_extension(9)->size(), 2u);

    // Without rtx_osn the same call writes the plain packet, two bytes shorter, and the
    // unwrapped RTX is byte-identical to it apart from the fields unwrap sets.
    h.rtx_osn.reset();
    std::array<std::uint8_t, 256> plain{};
    std::size_t m = write_forwarded(src, ext, sub, h, plain);
    ASSERT_EQ(m, n);
    RtpPacket p;
    ASSERT_EQ(RtpPacket::parse(MutableByteSpan(plain.data(), m), p), RtpParseStatus::kOk);
    p.set_sequence_number(0xFFFE);
    p.set_ssrc(0x01020304);
    p.set_payload_type(96);
    EXPECT_EQ(Bytes(plain.begin(), plain.begin() + static_cast<long>(m)),
              Bytes(out.begin(), out.begin() + static_cast<long>(n)));
  }
}

TEST(RtxMore, TooSmallOutputWritesNothing) {
  Bytes orig = publisher_packet({1, 2, 3}, 0);
  RtpPacket src;
  ASSERT_EQ(RtpPacket::parse(orig, src), RtpParseStatus::kOk);
  ForwardHeader h;
  h.rtx_osn = 1;
  std::array<std::uint8_t, 64> out{};
  const std::size_t need = write_forwarded(src, {}, {}, h, out);
  ASSERT_EQ(need, kRtpFixedHeaderSize + 4 + 2 + 3);
  EXPECT_EQ(write_forwarded(src, {}, {}, h, MutableByteSpan(out.data(), need - 1)), 0u);
}

TEST(RtxMore, UnwrapRefusesMismatchedArguments) {
  Bytes a = publisher_packet({0x00, 0x05, 0x42}, 0);
  const Bytes before = a;
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(a, p), RtpParseStatus::kOk);
  std::size_t n = a.size() - 1;  // len disagrees with the parse
  EXPECT_FALSE(unwrap_rtx(a, n, p, 96, 1));
  Bytes other = a;  // parsed over another buffer
  n = other.size();
  EXPECT_FALSE(unwrap_rtx(other, n, p, 96, 1));
  n = a.size();  // a buffer shorter than len
  EXPECT_FALSE(unwrap_rtx(MutableByteSpan(a.data(), a.size() - 1), n, p, 96, 1));
  EXPECT_EQ(a, before);
  EXPECT_EQ(other, before);
  ASSERT_TRUE(unwrap_rtx(a, n, p, 96, 1));  // and the right call works
  EXPECT_EQ(p.sequence_number(), 5);
  EXPECT_EQ(p.payload().size(), 1u);
  EXPECT_EQ(n, before.size() - 2);
}
