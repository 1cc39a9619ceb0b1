#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "rtc/rtp/header_extensions.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/rtp/seq_unwrapper.hpp"

using namespace hype::rtc;

namespace {

// An Opus packet as Chromium sends it: one-byte extensions (audio level id 1, abs-send-time
// id 2, transport-cc id 3, mid id 4 = "0"), 3-word extension block.
std::vector<std::uint8_t> chrome_like_opus() {
  return {0x90, 0x6f, 0x12, 0x34, 0x00, 0x00, 0x03, 0xc0, 0xde, 0xad, 0xbe, 0xef,  // header
          0xbe, 0xde, 0x00, 0x03,                                                  // ext hdr
          0x10, 0xa5,                                                              // level
          0x22, 0x01, 0x02, 0x03,                                                  // abs-send
          0x31, 0x00, 0x07,                                                        // twcc
          0x40, '0',                                                               // mid
          0x00,                                                                    // pad
          0xfc, 0xff, 0xfe};                                                       // payload
}

}  // namespace

TEST(Rtp, ParsesChromeStyleOpus) {
  auto buf = chrome_like_opus();
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(buf, p), RtpParseStatus::kOk);
  EXPECT_EQ(p.version(), 2);
  EXPECT_TRUE(p.has_extension());
  EXPECT_EQ(p.payload_type(), 111);
  EXPECT_FALSE(p.marker());
  EXPECT_EQ(p.sequence_number(), 0x1234);
  EXPECT_EQ(p.timestamp(), 960u);
  EXPECT_EQ(p.ssrc(), 0xdeadbeefu);
  EXPECT_EQ(p.extension_profile(), kOneByteExtensionProfile);
  EXPECT_EQ(p.header_size(), 28u);
  ASSERT_EQ(p.payload().size(), 3u);
  EXPECT_EQ(p.payload()[0], 0xfc);

  ExtensionIds ids;
  ASSERT_TRUE(ids.assign(ext_uri::kAudioLevel, 1));
  ASSERT_TRUE(ids.assign(ext_uri::kAbsSendTime, 2));
  ASSERT_TRUE(ids.assign(ext_uri::kTransportCc, 3));
  ASSERT_TRUE(ids.assign(ext_uri::kMid, 4));
  EXPECT_FALSE(ids.assign("urn:unknown", 9));
  auto level = audio_level(p, ids);
  ASSERT_TRUE(level);
  EXPECT_TRUE(level->voice_activity);
  EXPECT_EQ(level->level_dbov, 0x25);
  EXPECT_EQ(*read_abs_send_time(*p.find_extension(2)), 0x010203u);
  EXPECT_EQ(*transport_seq(p, ids), 7);
  EXPECT_EQ(*mid(p, ids), "0");
  EXPECT_FALSE(rid(p, ids).has_value());
}

TEST(Rtp, RewritesInPlace) {
  auto buf = chrome_like_opus();
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(buf, p), RtpParseStatus::kOk);
  ExtensionIds ids;
  ids.transport_cc = 3;
  ids.abs_send_time = 2;
  ASSERT_TRUE(set_transport_seq(p, ids, 0xabcd));
  ASSERT_TRUE(set_abs_send_time(p, ids, 1'500'000));  // 1.5 s -> 1.5 * 2^18
  p.set_ssrc(0x01020304);
  p.set_sequence_number(65535);
  p.set_timestamp(42);
  p.set_payload_type(100);
  p.set_marker(true);
  EXPECT_FALSE(p.rewrite_extension(4, as_bytes("ab")));  // size mismatch
  EXPECT_TRUE(p.rewrite_extension(4, as_bytes("1")));

  RtpPacket q;
  ASSERT_EQ(RtpPacket::parse(buf, q), RtpParseStatus::kOk);
  EXPECT_EQ(q.ssrc(), 0x01020304u);
  EXPECT_EQ(q.sequence_number(), 65535);
  EXPECT_EQ(q.timestamp(), 42u);
  EXPECT_EQ(q.payload_type(), 100);
  EXPECT_TRUE(q.marker());
  EXPECT_EQ(*transport_seq(q, ids), 0xabcd);
  EXPECT_EQ(*read_abs_send_time(*q.find_extension(2)), 393216u);
  EXPECT_EQ(as_string_view(*q.find_extension(4)), "1");
  EXPECT_EQ(q.payload()[2], 0xfe);
}

TEST(Rtp, TwoByteExtensionsAndBuilder) {
  std::uint8_t buf[256];
  RtpBuilder b(
      buf,
      {.payload_type = 96, .marker = true, .sequence_number = 9, .timestamp = 90000, .ssrc = 5},
      /*two_byte_extensions=*/true);
  std::uint8_t long_value[20];
  std::memset(long_value, 0x5a, sizeof(long_value));
  std::uint8_t seq[2] = {0x00, 0x2a};
  b.add_extension(3, seq).add_extension(200, long_value).add_extension(7, {});
  const std::uint8_t payload[5] = {1, 2, 3, 4, 5};
  b.payload(payload);
  std::size_t n = b.finish();
  ASSERT_GT(n, 0u);
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(MutableByteSpan(buf, n), p), RtpParseStatus::kOk);
  EXPECT_EQ(p.extension_profile(), kTwoByteExtensionProfile);
  EXPECT_EQ(*read_transport_seq(*p.find_extension(3)), 42);
  EXPECT_EQ(p.find_extension(200)->size(), 20u);
  EXPECT_EQ(p.find_extension(7)->size(), 0u);
  EXPECT_EQ(p.payload().size(), 5u);
  EXPECT_EQ(p.header_size() % 4, 0u);
  std::uint8_t other[20] = {};
  EXPECT_TRUE(p.rewrite_extension(200, other));
  EXPECT_EQ((*p.find_extension(200))[0], 0);
}

TEST(Rtp, OneByteBuilderRejectsInvalidIds) {
  std::uint8_t buf[64];
  RtpBuilder b(buf, {.payload_type = 111, .sequence_number = 1, .ssrc = 1});
  std::uint8_t v[1] = {0};
  b.add_extension(15, v);
  EXPECT_EQ(b.finish(), 0u);
}

TEST(Rtp, BuilderWithoutExtensions) {
  std::uint8_t buf[64];
  const std::uint8_t payload[3] = {7, 8, 9};
  RtpBuilder b(buf, {.payload_type = 111, .sequence_number = 1, .timestamp = 2, .ssrc = 3});
  std::size_t n = b.payload(payload).finish();
  ASSERT_EQ(n, 15u);
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(MutableByteSpan(buf, n), p), RtpParseStatus::kOk);
  EXPECT_FALSE(p.has_extension());
  EXPECT_FALSE(p.find_extension(1).has_value());
}

TEST(Rtp, CsrcAndPadding) {
  std::vector<std::uint8_t> v = {0xa2, 0x60, 0, 1,  0, 0, 0, 2,  0, 0, 0, 3,  // P=1, CC=2
                                 0,    0,    0, 10, 0, 0, 0, 11,              // CSRCs
                                 0xaa, 0xbb, 0, 0,  3};                       // payload + pad 3
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(v, p), RtpParseStatus::kOk);
  EXPECT_EQ(p.csrc_count(), 2);
  EXPECT_EQ(p.csrc(1), 11u);
  EXPECT_EQ(p.padding_size(), 3u);
  EXPECT_EQ(p.payload().size(), 2u);
}

TEST(Rtp, RejectsMalformed) {
  RtpPacket p;
  std::vector<std::uint8_t> v = {0x80, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0};
  EXPECT_EQ(RtpPacket::parse(v, p), RtpParseStatus::kTooShort);
  v = {0x40, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
  EXPECT_EQ(RtpPacket::parse(v, p), RtpParseStatus::kBadVersion);
  v = {0x81, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0};
  EXPECT_EQ(RtpPacket::parse(v, p), RtpParseStatus::kBadCsrc);
  v = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 2, 0x10, 1, 0, 0};
  EXPECT_EQ(RtpPacket::parse(v, p), RtpParseStatus::kBadExtension);
  v = {0xa0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 9};
  EXPECT_EQ(RtpPacket::parse(v, p), RtpParseStatus::kBadPadding);
  v = {0xa0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 0};
  EXPECT_EQ(RtpPacket::parse(v, p), RtpParseStatus::kBadPadding);
}

TEST(Rtp, ExtensionWalkStopsAtTruncatedElement) {
  // One-byte element claims 16 bytes inside a 4-byte block: must not read past the block.
  std::vector<std::uint8_t> v = {0x90, 0x60, 0,    1, 0, 0,    0, 2, 0, 0,   0,
                                 3,    0xbe, 0xde, 0, 1, 0x1f, 1, 2, 3, 0xaa};
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(v, p), RtpParseStatus::kOk);
  EXPECT_FALSE(p.find_extension(1).has_value());
}

TEST(Rtp, AudioLevelAndAbsSendTimeEncoding) {
  EXPECT_EQ(encode_audio_level({true, 30}), 0x9e);
  EXPECT_EQ(encode_audio_level({false, 127}), 0x7f);
  EXPECT_EQ(abs_send_time_from_us(0), 0u);
  EXPECT_EQ(abs_send_time_from_us(1'000'000), 1u << 18);
  EXPECT_EQ(abs_send_time_from_us(64'000'000), 0u);  // wraps every 64 s
}

TEST(SeqUnwrapper, ForwardBackwardAndWrap) {
  SeqUnwrapper u;
  EXPECT_EQ(u.unwrap(65534), 65534);
  EXPECT_EQ(u.unwrap(65535), 65535);
  EXPECT_EQ(u.unwrap(0), 65536);
  EXPECT_EQ(u.unwrap(5), 65541);
  EXPECT_EQ(u.unwrap(65533), 65533);  // reordered old packet, before the wrap
  EXPECT_EQ(u.peek(10), 65546);
  EXPECT_EQ(u.unwrap(2), 65538);
  SeqUnwrapper d;
  EXPECT_EQ(d.unwrap(10), 10);
  EXPECT_EQ(d.unwrap(65530), -6);  // backwards across zero
  TimestampUnwrapper t;
  EXPECT_EQ(t.unwrap(0xFFFFFF00u), 0xFFFFFF00);
  EXPECT_EQ(t.unwrap(0x100u), 0x100000100LL);
  EXPECT_TRUE(seq_newer(1, 65535));
  EXPECT_FALSE(seq_newer(65535, 1));
}
