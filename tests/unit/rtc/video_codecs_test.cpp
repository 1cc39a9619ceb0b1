// The full VP9 (RFC 9628), H.264 (RFC 6184 mode 1) and AV1 (AV1 RTP spec) descriptors on
// payloads built from the specs' layouts: key and delta frames, continuation packets, layer
// fields, and truncated or malformed input (valid == false, never a read past the end).
#include <gtest/gtest.h>

#include <vector>

#include "rtc/video/av1.hpp"
#include "rtc/video/h264.hpp"
#include "rtc/video/vp9.hpp"

using namespace hype::rtc::video;
using Bytes = std::vector<std::uint8_t>;

namespace {
hype::rtc::ByteSpan span(const Bytes& b) {
  return {b.data(), b.size()};
}
// Every prefix of `b` shorter than `upto` bytes (cut inside the descriptor) is invalid.
template <typename Parse>
void prefixes_invalid(const Bytes& b, std::size_t upto, Parse parse) {
  for (std::size_t n = 0; n < upto; ++n)
    EXPECT_FALSE(parse(span(Bytes(b.begin(), b.begin() + static_cast<long>(n)))).valid) << n;
}
}  // namespace

// --- VP9 ---

TEST(Vp9Descriptor, NonFlexibleKeyframeWithScalabilityStructure) {
  // I P=0 L F=0 B E V: 15-bit picture id 0x0102, TID 0 U=0 SID 0 D=0, TL0PICIDX 77, then SS:
  // N_S=1 (2 layers) Y G: 640x360, 1280x720; N_G 2: (TID 0, R 1, P_DIFF 2), (TID 1, R 0).
  Bytes p = {0xAE, 0x81, 0x02, 0x00, 77,   0x38, 0x02, 0x80, 0x01, 0x68, 0x05,
             0x00, 0x02, 0xD0, 0x02, 0x04, 0x02, 0x30, 0x9d, 0x01, 0x2a};
  auto d = parse_vp9(span(p));
  ASSERT_TRUE(d.valid);
  EXPECT_TRUE(d.keyframe);
  EXPECT_TRUE(d.begin_of_frame);
  EXPECT_TRUE(d.end_of_frame);
  EXPECT_FALSE(d.flexible);
  EXPECT_EQ(d.picture_id, 0x0102);
  EXPECT_TRUE(d.picture_id_15bit);
  EXPECT_EQ(d.temporal_id, 0);
  EXPECT_EQ(d.spatial_id, 0);
  EXPECT_EQ(d.tl0_pic_idx, 77);
  ASSERT_TRUE(d.has_ss);
  EXPECT_EQ(d.ss_spatial_layers, 2);
  EXPECT_EQ(d.ss_width[0], 640);
  EXPECT_EQ(d.ss_height[0], 360);
  EXPECT_EQ(d.ss_width[1], 1280);
  EXPECT_EQ(d.ss_height[1], 720);
  EXPECT_EQ(d.ss_pictures_in_group, 2);
  EXPECT_EQ(d.size, 18u);
  auto info = inspect(Codec::kVp9, span(p));
  EXPECT_TRUE(info.keyframe);
  EXPECT_EQ(info.descriptor_size, 18u);
  EXPECT_EQ(info.tl0_pic_idx, 77);
  prefixes_invalid(p, 19, parse_vp9);
}

TEST(Vp9Descriptor, UpperSpatialLayerAndContinuationAreNoKeyframe) {
  // B=1, P=0 but SID 1 with D: the same picture's upper layer depends on SID 0.
  Bytes sl1 = {0xA8, 0x05, 0x23, 9, 0xAA};
  auto d = parse_vp9(span(sl1));
  ASSERT_TRUE(d.valid);
  EXPECT_FALSE(d.keyframe);
  EXPECT_TRUE(d.begin_of_frame);
  EXPECT_EQ(d.temporal_id, 1);
  EXPECT_EQ(d.spatial_id, 1);
  EXPECT_TRUE(d.inter_layer_dep);
  // B=0: a middle packet of the keyframe.
  Bytes mid = {0xA0, 0x05, 0x00, 9, 0xAA};
  auto m = parse_vp9(span(mid));
  ASSERT_TRUE(m.valid);
  EXPECT_FALSE(m.keyframe);
  EXPECT_FALSE(inspect(Codec::kVp9, span(mid)).frame_start);
  // No I, no L: the minimal descriptor.
  auto bare = parse_vp9(span(Bytes{0x0C, 0x11}));
  ASSERT_TRUE(bare.valid);
  EXPECT_TRUE(bare.keyframe);
  EXPECT_EQ(bare.picture_id, -1);
  EXPECT_EQ(bare.size, 1u);
}

TEST(Vp9Descriptor, FlexibleModeDeltaWithPDiffs) {
  // I P L F B Z: 7-bit picture id 9, TID 2 U SID 0, P_DIFFs 1 (N) 2 (N) 4, no TL0PICIDX.
  Bytes p = {0xF9, 0x09, 0x50, 0x03, 0x05, 0x08, 0xCC};
  auto d = parse_vp9(span(p));
  ASSERT_TRUE(d.valid);
  EXPECT_TRUE(d.flexible);
  EXPECT_TRUE(d.inter_picture);
  EXPECT_TRUE(d.not_ref_upper);
  EXPECT_TRUE(d.switching_up);
  EXPECT_FALSE(d.keyframe);
  EXPECT_EQ(d.temporal_id, 2);
  EXPECT_EQ(d.tl0_pic_idx, -1);
  ASSERT_EQ(d.num_p_diffs, 3);
  EXPECT_EQ(d.p_diffs[0], 1);
  EXPECT_EQ(d.p_diffs[1], 2);
  EXPECT_EQ(d.p_diffs[2], 4);
  EXPECT_EQ(d.size, 6u);
  prefixes_invalid(p, 7, parse_vp9);
  // A fourth P_DIFF (N set on the third) is malformed.
  EXPECT_FALSE(parse_vp9(span(Bytes{0xF9, 0x09, 0x50, 0x03, 0x05, 0x09, 0x08, 0xCC})).valid);
}

TEST(Vp9Descriptor, ScalabilityStructureRunningPastTheEndIsInvalid) {
  // N_S = 7 (8 layers) with Y: 32 bytes of sizes that are not there.
  EXPECT_FALSE(parse_vp9(span(Bytes{0x0A, 0xF0, 1, 2, 3, 4, 5})).valid);
  // G: N_G = 200 picture descriptions, 1 present.
  EXPECT_FALSE(parse_vp9(span(Bytes{0x0A, 0x08, 200, 0x04, 0x01})).valid);
  // R = 3 P_DIFFs announced, 1 present and no payload.
  EXPECT_FALSE(parse_vp9(span(Bytes{0x0A, 0x08, 1, 0x0C, 0x01})).valid);
}

// --- H.264 ---

TEST(H264Descriptor, SingleNalUnits) {
  auto idr = parse_h264(span(Bytes{0x65, 0xB8, 0x00}));  // NRI 3, IDR, first_mb 0
  ASSERT_TRUE(idr.valid);
  EXPECT_EQ(idr.type, H264PacketType::kSingleNal);
  EXPECT_EQ(idr.nal_type, 5);
  EXPECT_EQ(idr.nal_ref_idc, 3);
  EXPECT_TRUE(idr.has_idr);
  EXPECT_TRUE(idr.keyframe);
  EXPECT_TRUE(idr.frame_start);
  EXPECT_EQ(idr.size, 0u);
  auto sps = parse_h264(span(Bytes{0x67, 0x42, 0xC0, 0x1F}));
  EXPECT_TRUE(sps.keyframe);
  EXPECT_TRUE(sps.has_sps);
  auto pps = parse_h264(span(Bytes{0x68, 0xCE, 0x3C, 0x80}));
  EXPECT_TRUE(pps.valid);
  EXPECT_TRUE(pps.has_pps);
  EXPECT_FALSE(pps.keyframe);  // a PPS alone is no starting point
  auto p_first = parse_h264(span(Bytes{0x41, 0x9A, 0x02}));
  EXPECT_FALSE(p_first.keyframe);
  EXPECT_TRUE(p_first.frame_start);
  auto p_second_slice = parse_h264(span(Bytes{0x41, 0x40, 0x02}));  // first_mb_in_slice 1
  EXPECT_TRUE(p_second_slice.valid);
  EXPECT_FALSE(p_second_slice.frame_start);
  auto aud = parse_h264(span(Bytes{0x09, 0xF0}));
  EXPECT_TRUE(aud.frame_start);
  EXPECT_FALSE(aud.keyframe);
}

TEST(H264Descriptor, StapAWithParameterSetsAndIdr) {
  Bytes p = {0x78,                                // STAP-A, NRI 3
             0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F,  // SPS
             0x00, 0x03, 0x68, 0xCE, 0x3C,        // PPS
             0x00, 0x03, 0x65, 0x88, 0x84};       // IDR
  auto d = parse_h264(span(p));
  ASSERT_TRUE(d.valid);
  EXPECT_EQ(d.type, H264PacketType::kStapA);
  EXPECT_EQ(d.nal_count, 3);
  EXPECT_EQ(d.nal_type, 7);
  EXPECT_TRUE(d.has_sps);
  EXPECT_TRUE(d.has_pps);
  EXPECT_TRUE(d.has_idr);
  EXPECT_TRUE(d.keyframe);
  EXPECT_TRUE(d.frame_start);
  EXPECT_EQ(d.size, 1u);
  prefixes_invalid(p, 7, parse_h264);  // cut inside the SPS
  // A STAP-A of two non-IDR slices is a delta frame.
  auto delta = parse_h264(span(Bytes{0x78, 0x00, 0x02, 0x41, 0x9A, 0x00, 0x02, 0x41, 0x40}));
  ASSERT_TRUE(delta.valid);
  EXPECT_FALSE(delta.keyframe);
  EXPECT_TRUE(delta.frame_start);
  // Malformed: a zero size, a nested STAP-A, an aggregated NAL with F set, nothing at all.
  EXPECT_FALSE(parse_h264(span(Bytes{0x78, 0x00, 0x00, 0x67})).valid);
  EXPECT_FALSE(parse_h264(span(Bytes{0x78, 0x00, 0x02, 0x78, 0x00})).valid);
  EXPECT_FALSE(parse_h264(span(Bytes{0x78, 0x00, 0x02, 0xE7, 0x00})).valid);
  EXPECT_FALSE(parse_h264(span(Bytes{0x78})).valid);
}

TEST(H264Descriptor, FuAFragments) {
  auto start = parse_h264(span(Bytes{0x7C, 0x85, 0xB8, 0x00}));  // S, IDR, first_mb 0
  ASSERT_TRUE(start.valid);
  EXPECT_EQ(start.type, H264PacketType::kFuA);
  EXPECT_TRUE(start.fu_start);
  EXPECT_EQ(start.nal_type, 5);
  EXPECT_TRUE(start.keyframe);
  EXPECT_TRUE(start.frame_start);
  EXPECT_EQ(start.size, 2u);
  auto mid = parse_h264(span(Bytes{0x7C, 0x05, 0x11, 0x22}));
  ASSERT_TRUE(mid.valid);
  EXPECT_FALSE(mid.keyframe);  // only the start of an IDR counts
  EXPECT_FALSE(mid.frame_start);
  auto end = parse_h264(span(Bytes{0x7C, 0x45, 0x33}));
  ASSERT_TRUE(end.valid);
  EXPECT_TRUE(end.fu_end);
  EXPECT_FALSE(end.keyframe);
  auto delta = parse_h264(span(Bytes{0x5C, 0x81, 0x9A}));  // S, non-IDR slice
  ASSERT_TRUE(delta.valid);
  EXPECT_FALSE(delta.keyframe);
  EXPECT_TRUE(delta.frame_start);
  EXPECT_FALSE(parse_h264(span(Bytes{0x7C, 0xC5, 0x00})).valid);  // S and E together
  EXPECT_FALSE(parse_h264(span(Bytes{0x7C, 0x9C, 0x00})).valid);  // fragmenting an FU-A
  EXPECT_FALSE(parse_h264(span(Bytes{0x7C, 0x85})).valid);        // no fragment
}

TEST(H264Descriptor, TypesOutsideModeOneAreInvalid) {
  for (std::uint8_t t : {0, 25, 26, 27, 29, 30, 31})
    EXPECT_FALSE(parse_h264(span(Bytes{static_cast<std::uint8_t>(0x60 | t), 0x80, 0x00})).valid)
        << int{t};
  EXPECT_FALSE(parse_h264(span(Bytes{0xE5, 0x88})).valid);  // forbidden bit
  EXPECT_FALSE(parse_h264({}).valid);
}

// --- AV1 ---

TEST(Av1Descriptor, NewCodedVideoSequence) {
  // Z=0 Y=0 W=2 N=1: [len 3] sequence header OBU (type 1, has_size), then a frame OBU (type 6)
  // with an extension header (temporal 1, spatial 0) taking the rest.
  Bytes p = {0x28, 0x03, 0x0A, 0x0B, 0x00, 0x36, 0x20, 0x10, 0x00, 0x00};
  auto d = parse_av1(span(p));
  ASSERT_TRUE(d.valid);
  EXPECT_TRUE(d.new_sequence);
  EXPECT_EQ(d.w, 2);
  EXPECT_EQ(d.element_count, 2);
  EXPECT_EQ(d.first_obu_type, 1);
  EXPECT_TRUE(d.has_sequence_header);
  EXPECT_EQ(d.temporal_id, 1);
  EXPECT_EQ(d.spatial_id, 0);
  EXPECT_TRUE(d.keyframe);
  EXPECT_TRUE(d.frame_start);
  auto info = inspect(Codec::kAv1, span(p));
  EXPECT_TRUE(info.keyframe);
  EXPECT_EQ(info.temporal_id, 1);
  EXPECT_EQ(info.descriptor_size, 1u);
  prefixes_invalid(p, 7, parse_av1);  // cut before the frame OBU's extension header
}

TEST(Av1Descriptor, DeltaAndContinuationPackets) {
  // W=0: every element has a length; a frame OBU, Y=1 (continues in the next packet).
  auto delta = parse_av1(span(Bytes{0x40, 0x03, 0x32, 0x01, 0x02}));
  ASSERT_TRUE(delta.valid);
  EXPECT_FALSE(delta.keyframe);
  EXPECT_TRUE(delta.frame_start);
  EXPECT_TRUE(delta.obu_continues);
  // Z=1 Y=1 W=1: the middle of an OBU: no header to read (0xFF would have the forbidden bit).
  auto mid = parse_av1(span(Bytes{0xD0, 0xFF, 0xFF, 0xFF}));
  ASSERT_TRUE(mid.valid);
  EXPECT_FALSE(mid.frame_start);
  EXPECT_FALSE(mid.keyframe);
  EXPECT_EQ(mid.first_obu_type, -1);
  // N with Z=1: not where a decoder can begin.
  EXPECT_FALSE(parse_av1(span(Bytes{0x98, 0x32, 0x00})).keyframe);
}

TEST(Av1Descriptor, MalformedElements) {
  EXPECT_FALSE(parse_av1(span(Bytes{0x00, 0x05, 0x32, 0x00})).valid);  // length past the end
  EXPECT_FALSE(parse_av1(span(Bytes{0x00, 0xFF})).valid);              // leb128 runs out
  EXPECT_FALSE(parse_av1(span(Bytes{0x00, 0x00, 0x32})).valid);        // empty element
  EXPECT_FALSE(parse_av1(span(Bytes{0x20, 0x02, 0x32, 0x00})).valid);  // W=2, one element
  EXPECT_FALSE(parse_av1(span(Bytes{0x10, 0xB2, 0x00})).valid);        // forbidden bit
  EXPECT_FALSE(parse_av1(span(Bytes{0x10, 0x34})).valid);  // extension flag, no extension
  EXPECT_FALSE(parse_av1(span(Bytes{0x08})).valid);        // a header alone
  // A 9-byte leb128 is longer than AV1 allows.
  EXPECT_FALSE(
      parse_av1(span(Bytes{0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x32}))
          .valid);
}
