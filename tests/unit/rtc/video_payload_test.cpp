// Video payload descriptors (VP8, VP9, H.264 mode 1, AV1): keyframe and frame-start detection
// and the descriptor fields, on payloads built byte by byte from the RFCs' layouts, plus
// truncated and garbage input (valid == false, never a read past the end).
#include "rtc/video/payload.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace hype::rtc::video;
using Bytes = std::vector<std::uint8_t>;

namespace {
hype::rtc::ByteSpan span(const Bytes& b) {
  return {b.data(), b.size()};
}
// A VP8 key frame's payload header: P=0, then the start code at bytes 3-5.
const Bytes kVp8Key = {0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x07};
const Bytes kVp8Delta = {0x01, 0x00, 0x00, 0x11, 0x22};
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

TEST(VideoPayload, CodecNames) {
  EXPECT_EQ(codec_from_name("vp8"), Codec::kVp8);
  EXPECT_EQ(codec_from_name("VP9"), Codec::kVp9);
  EXPECT_EQ(codec_from_name("h264"), Codec::kH264);
  EXPECT_EQ(codec_from_name("AV1"), Codec::kAv1);
  EXPECT_EQ(codec_from_name("opus"), Codec::kUnknown);
  EXPECT_STREQ(codec_name(Codec::kH264), "H264");
}

TEST(VideoPayload, Vp8KeyframeDeltaAndContinuation) {
  // X=1 S=1 PID=0; I=1 L=1 T=1; 15-bit picture id 0x1234; TL0PICIDX 7; TID 2.
  Bytes desc = {0x90, 0xE0, 0x80 | 0x12, 0x34, 0x07, 0x80};
  auto key = inspect(Codec::kVp8, span(cat(desc, kVp8Key)));
  ASSERT_TRUE(key.valid);
  EXPECT_TRUE(key.frame_start);
  EXPECT_TRUE(key.keyframe);
  EXPECT_EQ(key.picture_id, 0x1234);
  EXPECT_EQ(key.tl0_pic_idx, 7);
  EXPECT_EQ(key.temporal_id, 2);
  EXPECT_EQ(key.descriptor_size, 6u);
  auto delta = inspect(Codec::kVp8, span(cat(desc, kVp8Delta)));
  ASSERT_TRUE(delta.valid);
  EXPECT_TRUE(delta.frame_start);
  EXPECT_FALSE(delta.keyframe);
  // S=0: a continuation of the key frame is not its start.
  Bytes cont = {0x80, 0x80, 0x12};
  auto c = inspect(Codec::kVp8, span(cat(cont, kVp8Key)));
  ASSERT_TRUE(c.valid);
  EXPECT_FALSE(c.frame_start);
  EXPECT_FALSE(c.keyframe);
  EXPECT_EQ(c.picture_id, 0x12);  // 7-bit form
  // Minimal descriptor, no extensions.
  EXPECT_TRUE(inspect(Codec::kVp8, span(cat({0x10}, kVp8Key))).keyframe);
}

TEST(VideoPayload, Vp8TruncatedIsInvalid) {
  Bytes full = {0x90, 0xE0, 0x92, 0x34, 0x07, 0x80};
  for (std::size_t n = 0; n <= full.size(); ++n) {
    Bytes part(full.begin(), full.begin() + static_cast<long>(n));
    EXPECT_FALSE(inspect(Codec::kVp8, span(part)).valid) << n;
  }
}

TEST(VideoPayload, Vp9KeyframeLayersAndFlexibleMode) {
  // I=1 P=0 L=1 F=0 B=1 E=1: picture id 7-bit 5, TID 0 U 0 SID 0 D 0, TL0PICIDX 9.
  Bytes key = {0x80 | 0x20 | 0x08 | 0x04, 0x05, 0x00, 0x09, 0xAA, 0xBB};
  auto k = inspect(Codec::kVp9, span(key));
  ASSERT_TRUE(k.valid);
  EXPECT_TRUE(k.keyframe);
  EXPECT_TRUE(k.frame_start);
  EXPECT_EQ(k.picture_id, 5);
  EXPECT_EQ(k.spatial_id, 0);
  EXPECT_EQ(k.tl0_pic_idx, 9);
  EXPECT_EQ(k.descriptor_size, 4u);
  // The same frame's spatial layer 1 is no starting point.
  Bytes sl1 = {0x80 | 0x20 | 0x08, 0x05, 0x02, 0x09, 0xAA};
  EXPECT_FALSE(inspect(Codec::kVp9, span(sl1)).keyframe);
  // Flexible mode, inter frame with two P_DIFFs (N chains them).
  Bytes flex = {0x80 | 0x40 | 0x10 | 0x08, 0x85, 0x00, 0x03, 0x04, 0xCC};
  auto f = inspect(Codec::kVp9, span(flex));
  ASSERT_TRUE(f.valid);
  EXPECT_FALSE(f.keyframe);
  EXPECT_EQ(f.picture_id, 0x0500);
  EXPECT_EQ(f.descriptor_size, 5u);
  // Scalability structure with resolutions (Y) and a picture group (G).
  Bytes ss = {0x08 | 0x02, 0x18, 0x07, 0x80, 0x04, 0x38, 0x01, 0x00, 0xEE};
  auto s = inspect(Codec::kVp9, span(ss));
  ASSERT_TRUE(s.valid);
  EXPECT_TRUE(s.keyframe);
  EXPECT_EQ(s.descriptor_size, 8u);
  Bytes cut(ss.begin(), ss.begin() + 5);
  EXPECT_FALSE(inspect(Codec::kVp9, span(cut)).valid);
}

TEST(VideoPayload, H264SingleStapAndFuA) {
  Bytes idr = {0x65, 0x88, 0x80};  // NRI 3, type 5, first_mb_in_slice 0
  auto a = inspect(Codec::kH264, span(idr));
  ASSERT_TRUE(a.valid);
  EXPECT_TRUE(a.keyframe);
  EXPECT_TRUE(a.frame_start);
  Bytes p_slice_mid = {0x41, 0x40};  // type 1, first_mb_in_slice != 0
  auto b = inspect(Codec::kH264, span(p_slice_mid));
  EXPECT_TRUE(b.valid);
  EXPECT_FALSE(b.keyframe);
  EXPECT_FALSE(b.frame_start);
  // STAP-A with SPS, PPS (as Chromium sends before an IDR).
  Bytes stap = {0x78, 0x00, 0x03, 0x67, 0x42, 0xe0, 0x00, 0x02, 0x68, 0xce};
  auto s = inspect(Codec::kH264, span(stap));
  ASSERT_TRUE(s.valid);
  EXPECT_TRUE(s.keyframe);
  EXPECT_TRUE(s.frame_start);
  Bytes bad_stap = {0x78, 0x00, 0x09, 0x67};
  EXPECT_FALSE(inspect(Codec::kH264, span(bad_stap)).valid);
  // FU-A: start of an IDR, then a middle fragment.
  Bytes fu_start = {0x7C, 0x85, 0x88, 0x00};
  auto f = inspect(Codec::kH264, span(fu_start));
  ASSERT_TRUE(f.valid);
  EXPECT_TRUE(f.keyframe);
  EXPECT_TRUE(f.frame_start);
  Bytes fu_mid = {0x7C, 0x05, 0x11};
  auto m = inspect(Codec::kH264, span(fu_mid));
  EXPECT_TRUE(m.valid);
  EXPECT_FALSE(m.keyframe);
  EXPECT_FALSE(m.frame_start);
  EXPECT_FALSE(inspect(Codec::kH264, span(Bytes{0x7A, 0x00, 0x01})).valid);  // FU-B
  EXPECT_FALSE(inspect(Codec::kH264, span(Bytes{0xE5, 0x88})).valid);        // F bit
}

TEST(VideoPayload, Av1NewCodedVideoSequenceIsAKeyframe) {
  // N=1 W=2: first element with a length (3 bytes), the second takes the rest.
  Bytes key = {0x08 | 0x20, 0x03, 0x0A, 0x0B, 0x00, 0x32, 0x10, 0x00};
  auto k = inspect(Codec::kAv1, span(key));
  ASSERT_TRUE(k.valid);
  EXPECT_TRUE(k.keyframe);
  EXPECT_TRUE(k.frame_start);
  // Z=1: continues an OBU from the previous packet.
  Bytes cont = {0x80 | 0x10, 0x32, 0x00};
  auto c = inspect(Codec::kAv1, span(cont));
  ASSERT_TRUE(c.valid);
  EXPECT_FALSE(c.frame_start);
  EXPECT_FALSE(c.keyframe);
  // W=0: every element has a length; one running past the end is invalid.
  EXPECT_TRUE(inspect(Codec::kAv1, span(Bytes{0x00, 0x02, 0x32, 0x00})).valid);
  EXPECT_FALSE(inspect(Codec::kAv1, span(Bytes{0x00, 0x05, 0x32, 0x00})).valid);
  EXPECT_FALSE(inspect(Codec::kAv1, span(Bytes{0x00, 0xFF})).valid);  // leb128 runs out
}

TEST(VideoPayload, UnknownCodecAndEmptyPayloads) {
  EXPECT_FALSE(inspect(Codec::kUnknown, span(kVp8Key)).valid);
  for (auto c : {Codec::kVp8, Codec::kVp9, Codec::kH264, Codec::kAv1})
    EXPECT_FALSE(inspect(c, {}).valid);
}
