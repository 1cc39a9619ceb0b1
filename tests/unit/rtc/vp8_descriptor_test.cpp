// VP8 payload descriptor (RFC 7741 4.2) field by field, the in-place picture id / TL0PICIDX
// writers, and Vp8PictureIdMunger keeping a watcher's numbering continuous across dropped
// pictures, late packets and source switches.
#include "rtc/video/vp8.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace hype::rtc::video;
using Bytes = std::vector<std::uint8_t>;

namespace {
hype::rtc::ByteSpan span(const Bytes& b) {
  return {b.data(), b.size()};
}
hype::rtc::MutableByteSpan mspan(Bytes& b) {
  return {b.data(), b.size()};
}
// A key frame's VP8 payload header (RFC 6386 9.1): P=0 ... start code 9d 01 2a.
const Bytes kKey = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x07, 0x38, 0x04};
const Bytes kDelta = {0x31, 0x0b, 0x00, 0x11, 0x22, 0x33};
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

TEST(Vp8Descriptor, EveryField) {
  // X=1 N=1 S=1 PID=0 | I L T K | M=1 id 0x7ABC | TL0 200 | TID 1 Y=1 KEYIDX 17
  Bytes d = {0xB0, 0xF0, 0xFA, 0xBC, 200, 0x40 | 0x20 | 17};
  auto v = parse_vp8(span(cat(d, kKey)));
  ASSERT_TRUE(v.valid);
  EXPECT_TRUE(v.extended);
  EXPECT_TRUE(v.non_reference);
  EXPECT_TRUE(v.start);
  EXPECT_EQ(v.partition_id, 0);
  EXPECT_EQ(v.picture_id, 0x7ABC);
  EXPECT_TRUE(v.picture_id_15bit);
  EXPECT_EQ(v.tl0_pic_idx, 200);
  EXPECT_EQ(v.temporal_id, 1);
  EXPECT_TRUE(v.layer_sync);
  EXPECT_EQ(v.key_idx, 17);
  EXPECT_EQ(v.picture_id_offset, 2u);
  EXPECT_EQ(v.tl0_offset, 4u);
  EXPECT_EQ(v.size, 6u);
  EXPECT_TRUE(v.frame_start);
  EXPECT_TRUE(v.keyframe);
}

TEST(Vp8Descriptor, KOnlyCarriesKeyIdxNotTid) {
  Bytes d = {0x90, 0x10, 0xC5};  // X S | K only: the TID/Y/KEYIDX byte, TID not meaningful
  auto v = parse_vp8(span(cat(d, kDelta)));
  ASSERT_TRUE(v.valid);
  EXPECT_EQ(v.temporal_id, -1);
  EXPECT_EQ(v.key_idx, 5);
  EXPECT_EQ(v.size, 3u);
  EXPECT_FALSE(v.keyframe);
  EXPECT_TRUE(v.frame_start);
}

TEST(Vp8Descriptor, KeyframeNeedsStartOfPartitionZeroAndAKeyHeader) {
  EXPECT_TRUE(parse_vp8(span(cat({0x10}, kKey))).keyframe);
  EXPECT_FALSE(parse_vp8(span(cat({0x11}, kKey))).keyframe);  // PID 1: another partition
  EXPECT_FALSE(parse_vp8(span(cat({0x00}, kKey))).keyframe);  // S=0: a continuation
  EXPECT_FALSE(parse_vp8(span(cat({0x10}, kDelta))).keyframe);
  // P=0 but no start code (or too short to hold one): not a decoder's starting point.
  EXPECT_FALSE(parse_vp8(span(Bytes{0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})).keyframe);
  EXPECT_FALSE(parse_vp8(span(Bytes{0x10, 0x50, 0x42, 0x00, 0x9d})).keyframe);
  EXPECT_TRUE(parse_vp8(span(Bytes{0x10, 0x50, 0x42, 0x00, 0x9d})).valid);
}

TEST(Vp8Descriptor, TruncatedAndGarbageAreInvalid) {
  Bytes full = {0x90, 0xF0, 0xFA, 0xBC, 200, 0x40};
  for (std::size_t n = 0; n <= full.size(); ++n)
    EXPECT_FALSE(parse_vp8(span(Bytes(full.begin(), full.begin() + static_cast<long>(n)))).valid)
        << n;
  EXPECT_FALSE(parse_vp8({}).valid);
  // Every single byte is a descriptor without data: invalid, and never a keyframe.
  for (int b = 0; b < 256; ++b) {
    auto v = parse_vp8(span(Bytes{static_cast<std::uint8_t>(b)}));
    EXPECT_FALSE(v.valid);
    EXPECT_FALSE(v.keyframe);
  }
}

TEST(Vp8Writers, RewriteInPlaceKeepingWidth) {
  Bytes p15 = cat({0x90, 0xC0, 0x80, 0x01, 9}, kDelta);
  ASSERT_TRUE(write_vp8_picture_id(mspan(p15), 0x1234));
  ASSERT_TRUE(write_vp8_tl0_pic_idx(mspan(p15), 300));  // low 8 bits
  auto v = parse_vp8(span(p15));
  EXPECT_EQ(v.picture_id, 0x1234);
  EXPECT_TRUE(v.picture_id_15bit);
  EXPECT_EQ(v.tl0_pic_idx, 300 & 0xFF);
  EXPECT_EQ(Bytes(p15.begin() + 5, p15.end()), kDelta);  // the VP8 data is untouched

  Bytes p7 = cat({0x90, 0x80, 0x05}, kDelta);
  ASSERT_TRUE(write_vp8_picture_id(mspan(p7), 0x1234));
  v = parse_vp8(span(p7));
  EXPECT_EQ(v.picture_id, 0x34);  // 7 bits
  EXPECT_FALSE(v.picture_id_15bit);
  EXPECT_EQ(p7.size(), 3 + kDelta.size());
  EXPECT_FALSE(write_vp8_tl0_pic_idx(mspan(p7), 1));  // no L

  Bytes none = cat({0x10}, kDelta);
  const Bytes before = none;
  EXPECT_FALSE(write_vp8_picture_id(mspan(none), 3));
  EXPECT_FALSE(write_vp8_tl0_pic_idx(mspan(none), 3));
  EXPECT_EQ(none, before);
  Bytes cut = {0x90, 0x80};
  EXPECT_FALSE(write_vp8_picture_id(mspan(cut), 3));
}

TEST(Vp8Munger, PassesThroughUntilSomethingIsDropped) {
  Vp8PictureIdMunger m;
  for (int pid = 100; pid < 105; ++pid) {
    auto r = m.munge(pid, 7, false);
    ASSERT_TRUE(r.forward);
    EXPECT_EQ(r.picture_id, pid);
    EXPECT_EQ(r.tl0_pic_idx, 7);
  }
}

TEST(Vp8Munger, DroppedPicturesLeaveNoGap) {
  Vp8PictureIdMunger m;
  // Two temporal layers: TL0 pictures (even ids) start a new TL0PICIDX, TL1 ones are dropped.
  int tl0 = 50;
  int expect = 0;
  for (int pid = 0; pid < 20; ++pid) {
    const bool base = pid % 2 == 0;
    if (base) ++tl0;
    for (int packet = 0; packet < 3; ++packet) {  // every packet of a picture, counted once
      auto r = m.munge(pid, tl0, !base);
      EXPECT_EQ(r.forward, base);
      if (!base) continue;
      EXPECT_EQ(r.picture_id, expect) << pid;
      EXPECT_EQ(r.tl0_pic_idx, 51 + pid / 2) << pid;  // TL0 pictures were all forwarded
    }
    if (base) ++expect;
  }
}

TEST(Vp8Munger, DroppingABasePictureAdvancesTl0Too) {
  Vp8PictureIdMunger m;
  EXPECT_EQ(m.munge(10, 1, false).tl0_pic_idx, 1);
  EXPECT_FALSE(m.munge(11, 2, true).forward);  // a new TL0PICIDX, dropped
  auto r = m.munge(12, 3, false);
  EXPECT_EQ(r.picture_id, 11);
  EXPECT_EQ(r.tl0_pic_idx, 2);
}

TEST(Vp8Munger, LatePacketsGetTheOffsetOfTheirTime) {
  Vp8PictureIdMunger m;
  EXPECT_EQ(m.munge(1, 0, false).picture_id, 1);
  EXPECT_EQ(m.munge(2, 0, false).picture_id, 2);
  EXPECT_FALSE(m.munge(3, 0, true).forward);
  EXPECT_EQ(m.munge(4, 0, false).picture_id, 3);
  // A retransmission of picture 2 (before the drop) keeps its id; one of 3 stays dropped.
  auto late = m.munge(2, 0, false);
  ASSERT_TRUE(late.forward);
  EXPECT_EQ(late.picture_id, 2);
  EXPECT_FALSE(m.munge(3, 0, false).forward);
  EXPECT_EQ(m.munge(4, 0, false).picture_id, 3);  // the newest again
  EXPECT_EQ(m.munge(5, 0, false).picture_id, 4);
}

TEST(Vp8Munger, LatePacketsOlderThanTheDropHistoryAreNotMapped) {
  Vp8PictureIdMunger m;
  m.munge(0, -1, false);
  int pid = 1;
  for (std::size_t k = 0; k <= Vp8PictureIdMunger::kHistory; ++k, pid += 2) {
    m.munge(pid, -1, true);
    m.munge(pid + 1, -1, false);
  }
  EXPECT_FALSE(m.munge(0, -1, false).forward);  // more drops since than remembered
  auto recent = m.munge(pid - 1, -1, false);    // the newest picture
  ASSERT_TRUE(recent.forward);
  EXPECT_EQ(recent.picture_id, (pid - 1) - static_cast<int>(Vp8PictureIdMunger::kHistory + 1));
}

TEST(Vp8Munger, WrapsIn15And7Bits) {
  Vp8PictureIdMunger m;
  EXPECT_EQ(m.munge(0x7FFE, 255, false).picture_id, 0x7FFE);
  EXPECT_FALSE(m.munge(0x7FFF, 0, true).forward);
  auto r = m.munge(0, 1, false);
  EXPECT_EQ(r.picture_id, 0x7FFF);
  EXPECT_EQ(r.tl0_pic_idx, 0);
  EXPECT_EQ(m.munge(1, 1, false).picture_id, 0);

  Vp8PictureIdMunger s;
  EXPECT_EQ(s.munge(126, -1, false, 7).picture_id, 126);
  EXPECT_FALSE(s.munge(127, -1, true, 7).forward);
  EXPECT_EQ(s.munge(0, -1, false, 7).picture_id, 127);
  EXPECT_EQ(s.munge(1, -1, false, 7).picture_id, 0);
}

TEST(Vp8Munger, ASourceSwitchContinuesTheNumbering) {
  Vp8PictureIdMunger m;
  m.munge(500, 20, false);
  m.munge(501, 20, false);
  m.on_source_change();
  auto r = m.munge(9000, 3, false);  // the new source's keyframe
  ASSERT_TRUE(r.forward);
  EXPECT_EQ(r.picture_id, 502);
  EXPECT_EQ(r.tl0_pic_idx, 21);
  EXPECT_EQ(m.munge(9001, 3, false).picture_id, 503);
  EXPECT_FALSE(m.munge(501, 20, false).forward);  // a straggler of the old source
  // A change of picture id width is a switch too.
  r = m.munge(5, 4, false, 7);
  EXPECT_EQ(r.picture_id, 504 & 0x7F);
  EXPECT_EQ(r.tl0_pic_idx, 22);
  m.reset();
  EXPECT_EQ(m.munge(42, 9, false).picture_id, 42);  // after reset: the source's own numbers
}

TEST(Vp8Munger, AbsentFieldsStayAbsent) {
  Vp8PictureIdMunger m;
  auto r = m.munge(-1, -1, false);
  EXPECT_TRUE(r.forward);
  EXPECT_EQ(r.picture_id, -1);
  EXPECT_EQ(r.tl0_pic_idx, -1);
  EXPECT_FALSE(m.munge(-1, 4, true).forward);
  r = m.munge(7, -1, false);
  EXPECT_EQ(r.picture_id, 7);
  EXPECT_EQ(r.tl0_pic_idx, -1);
}
