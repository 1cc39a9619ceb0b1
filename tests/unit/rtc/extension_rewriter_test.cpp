// Header extensions across the SFU hop: a publisher's ids never reach a subscriber; each
// subscriber gets the extensions it negotiated under its own ids, in one-byte or two-byte
// form, and nothing else. The maps below differ in every position, so a copied id shows.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "rtc/rtp/extension_rewriter.hpp"

using namespace hype::rtc;

namespace {

// Publisher: Chromium's audio ids. Subscriber: a rotation of them, so each of the
// publisher's ids means another URI to the subscriber.
ExtensionIds publisher_ids() {
  ExtensionIds e;
  e.audio_level = 1;
  e.abs_send_time = 2;
  e.transport_cc = 3;
  e.mid = 4;
  return e;
}
ExtensionIds subscriber_ids() {
  ExtensionIds e;
  e.audio_level = 4;
  e.abs_send_time = 3;
  e.transport_cc = 1;
  e.mid = 2;
  return e;
}

const std::array<std::uint8_t, 3> kSendTime{0x12, 0x34, 0x56};
const std::array<std::uint8_t, 2> kPubSeq{0xAB, 0xCD};

std::vector<std::uint8_t> packet(const ExtensionIds& ids, bool two_byte = false,
                                 std::size_t payload = 40, bool with_ext = true,
                                 std::uint8_t extra_id = 0) {
  std::vector<std::uint8_t> buf(1500);
  std::vector<std::uint8_t> body(payload, 0x5A);
  RtpBuilder b(buf, {111, true, 1000, 48000, 0x11111111}, two_byte);
  if (with_ext) {
    std::array<std::uint8_t, 1> level{0x80 | 33};
    b.add_extension(ids.audio_level, level)
        .add_extension(ids.abs_send_time, kSendTime)
        .add_extension(ids.transport_cc, kPubSeq)
        .add_extension(ids.mid, as_bytes("0"));
    if (extra_id) b.add_extension(extra_id, as_bytes("12345678"));  // not negotiated
  }
  b.payload(body);
  buf.resize(b.finish());
  EXPECT_GT(buf.size(), 0u);
  return buf;
}

struct Out {
  std::vector<std::uint8_t> bytes;
  RtpPacket pkt;
  std::map<std::uint8_t, std::vector<std::uint8_t>> ext;  // id -> value
};

Out forward(std::vector<std::uint8_t>& in, const ExtensionIds& pub, const ExtensionIds& sub,
            std::string_view mid = "a0", bool twcc = true) {
  RtpPacket src;
  EXPECT_EQ(RtpPacket::parse(in, src), RtpParseStatus::kOk);
  PacketExtensions ext;
  EXPECT_EQ(index_extensions(src, pub, ext), ExtensionStatus::kOk);
  Out o;
  o.bytes.resize(1600);
  ForwardHeader h{0x22222222, 7, 960, 96, mid, twcc, 0x0102};
  std::size_t n = write_forwarded(src, ext, sub, h, o.bytes);
  EXPECT_GT(n, 0u);
  o.bytes.resize(n);
  EXPECT_EQ(RtpPacket::parse(o.bytes, o.pkt), RtpParseStatus::kOk);
  o.pkt.for_each_extension([&](std::uint8_t id, MutableByteSpan v) {
    EXPECT_EQ(o.ext.count(id), 0u) << "id " << int(id) << " twice";
    o.ext[id].assign(v.begin(), v.end());
    return true;
  });
  return o;
}

}  // namespace

TEST(ExtensionRewriter, MapsEveryExtensionToTheSubscribersIds) {
  auto in = packet(publisher_ids());
  Out o = forward(in, publisher_ids(), subscriber_ids());
  EXPECT_EQ(o.pkt.extension_profile(), kOneByteExtensionProfile);
  ASSERT_EQ(o.ext.size(), 4u);
  EXPECT_EQ(o.ext[4], (std::vector<std::uint8_t>{0x80 | 33}));  // audio level
  EXPECT_EQ(o.ext[3], std::vector<std::uint8_t>(kSendTime.begin(), kSendTime.end()));
  EXPECT_EQ(o.ext[1], (std::vector<std::uint8_t>{0x01, 0x02}));  // the SFU's sequence
  EXPECT_EQ(o.ext[2], (std::vector<std::uint8_t>{'a', '0'}));    // the subscriber's mid
  EXPECT_EQ(o.pkt.ssrc(), 0x22222222u);
  EXPECT_EQ(o.pkt.sequence_number(), 7);
  EXPECT_EQ(o.pkt.timestamp(), 960u);
  EXPECT_EQ(o.pkt.payload_type(), 96);
  EXPECT_TRUE(o.pkt.marker());
  EXPECT_EQ(o.pkt.payload().size(), 40u);
  EXPECT_EQ(o.pkt.payload()[0], 0x5A);
}

TEST(ExtensionRewriter, DropsWhatTheSubscriberDidNotNegotiate) {
  // Not negotiated by the publisher either (id 9): never forwarded.
  auto in = packet(publisher_ids(), false, 40, true, 9);
  ExtensionIds only_level;
  only_level.audio_level = 7;
  Out o = forward(in, publisher_ids(), only_level);
  ASSERT_EQ(o.ext.size(), 1u);
  EXPECT_EQ(o.ext[7], (std::vector<std::uint8_t>{0x80 | 33}));
  // Nothing negotiated: no extension block at all.
  Out none = forward(in, publisher_ids(), ExtensionIds{});
  EXPECT_FALSE(none.pkt.has_extension());
  EXPECT_EQ(none.pkt.header_size(), kRtpFixedHeaderSize);
  EXPECT_EQ(none.pkt.payload().size(), 40u);
}

TEST(ExtensionRewriter, NoMidOrSequenceUnlessTheSfuHasOne) {
  auto in = packet(publisher_ids());
  Out o = forward(in, publisher_ids(), subscriber_ids(), "", false);
  EXPECT_EQ(o.ext.count(2), 0u);  // the publisher's "0" is not the subscriber's section
  EXPECT_EQ(o.ext.count(1), 0u);  // nor is its transport-wide sequence
  EXPECT_EQ(o.ext.size(), 2u);
}

TEST(ExtensionRewriter, TwoByteFormInAndOut) {
  // Publisher in the two-byte form; subscriber with an id only the two-byte form carries.
  auto in = packet(publisher_ids(), true);
  RtpPacket src;
  ASSERT_EQ(RtpPacket::parse(in, src), RtpParseStatus::kOk);
  ASSERT_EQ(src.extension_profile(), kTwoByteExtensionProfile);
  ExtensionIds sub = subscriber_ids();
  sub.audio_level = 200;
  Out o = forward(in, publisher_ids(), sub);
  EXPECT_EQ(o.pkt.extension_profile(), kTwoByteExtensionProfile);
  EXPECT_EQ(o.ext[200], (std::vector<std::uint8_t>{0x80 | 33}));
  EXPECT_EQ(o.ext[2], (std::vector<std::uint8_t>{'a', '0'}));
  EXPECT_EQ(o.ext.size(), 4u);
  // The same two-byte input to a subscriber with small ids: one-byte output.
  Out small = forward(in, publisher_ids(), subscriber_ids());
  EXPECT_EQ(small.pkt.extension_profile(), kOneByteExtensionProfile);
  EXPECT_EQ(small.ext.size(), 4u);
}

TEST(ExtensionRewriter, PacketWithoutExtensionsGetsTheSubscribersOwn) {
  auto in = packet(publisher_ids(), false, 30, false);
  Out o = forward(in, publisher_ids(), subscriber_ids());
  ASSERT_TRUE(o.pkt.has_extension());
  EXPECT_EQ(o.ext.size(), 2u);  // mid and transport-cc, written by the SFU
  EXPECT_EQ(o.ext[2], (std::vector<std::uint8_t>{'a', '0'}));
  EXPECT_EQ(o.pkt.payload().size(), 30u);
}

TEST(ExtensionRewriter, KeepsCsrcsAndPadding) {
  // Build by hand: 1 CSRC, one-byte extensions, 4 bytes of padding.
  std::vector<std::uint8_t> in = {0xB1, 0x6F, 0x00, 0x01, 0,    0,    0,    1,
                                  0x11, 0x11, 0x11, 0x11, 0xCC, 0xCC, 0xCC, 0xCC,  // CSRC
                                  0xBE, 0xDE, 0x00, 0x01, 0x10, 0x85, 0x00, 0x00,  // level
                                  0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x04};
  Out o = forward(in, publisher_ids(), subscriber_ids(), "", false);
  EXPECT_EQ(o.pkt.csrc_count(), 1);
  EXPECT_EQ(o.pkt.csrc(0), 0xCCCCCCCCu);
  EXPECT_TRUE(o.pkt.has_padding());
  EXPECT_EQ(o.pkt.padding_size(), 4u);
  ASSERT_EQ(o.pkt.payload().size(), 3u);
  EXPECT_EQ(o.pkt.payload()[2], 0x03);
  EXPECT_EQ(o.ext[4], (std::vector<std::uint8_t>{0x85}));
}

TEST(ExtensionRewriter, MalformedBlocksAreReported) {
  // One-byte element claiming 4 bytes in a 4-byte block (1 header + 4 > 4).
  std::vector<std::uint8_t> a = {0x90, 0x6F, 0,    1,    0,    0,    0, 1, 1, 1,   1,
                                 1,    0xBE, 0xDE, 0x00, 0x01, 0x13, 0, 0, 0, 0xAA};
  // Two-byte element claiming 9 bytes in a 4-byte block.
  std::vector<std::uint8_t> b = {0x90, 0x6F, 0,    1,    0,    0,    0,    1, 1, 1,   1,
                                 1,    0x10, 0x00, 0x00, 0x01, 0x01, 0x09, 0, 0, 0xAA};
  for (auto* in : {&a, &b}) {
    RtpPacket p;
    ASSERT_EQ(RtpPacket::parse(*in, p), RtpParseStatus::kOk);
    PacketExtensions ext;
    EXPECT_EQ(index_extensions(p, publisher_ids(), ext), ExtensionStatus::kMalformed);
  }
  // Id 15 ends the one-byte block (RFC 8285 4.2): what came before still counts.
  std::vector<std::uint8_t> c = {0x90, 0x6F, 0,    1,    0,    0,    0,    1,    1,    1,   1,
                                 1,    0xBE, 0xDE, 0x00, 0x01, 0x10, 0x85, 0xF3, 0x00, 0xAA};
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(c, p), RtpParseStatus::kOk);
  PacketExtensions ext;
  EXPECT_EQ(index_extensions(p, publisher_ids(), ext), ExtensionStatus::kOk);
  ASSERT_TRUE(ext.audio_level);
  EXPECT_EQ(ext.audio_level->level_dbov, 5);
  // A size the URI does not allow (3-byte audio level) is ignored, not forwarded.
  std::vector<std::uint8_t> d = {0x90, 0x6F, 0,    1,    0,    0,    0,    1,    1,    1,   1,
                                 1,    0xBE, 0xDE, 0x00, 0x01, 0x12, 0x85, 0x00, 0x00, 0xAA};
  ASSERT_EQ(RtpPacket::parse(d, p), RtpParseStatus::kOk);
  EXPECT_EQ(index_extensions(p, publisher_ids(), ext), ExtensionStatus::kOk);
  EXPECT_FALSE(ext.audio_level);
}

TEST(ExtensionRewriter, TooSmallOutputWritesNothing) {
  auto in = packet(publisher_ids(), false, 100);
  RtpPacket src;
  ASSERT_EQ(RtpPacket::parse(in, src), RtpParseStatus::kOk);
  PacketExtensions ext;
  index_extensions(src, publisher_ids(), ext);
  std::array<std::uint8_t, 64> small{};
  EXPECT_EQ(write_forwarded(src, ext, subscriber_ids(), {1, 1, 1, 96, "a0", true, 1}, small), 0u);
}
