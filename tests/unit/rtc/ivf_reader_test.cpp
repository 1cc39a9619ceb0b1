// IVF reading from memory: header fields, frames with timestamps, and malformed files
// (every truncation, bad fields) ending in a status, never a read past the end.
#include "rtc/video/ivf_reader.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace hype::rtc;
using namespace hype::rtc::video;

namespace {

void le(std::vector<std::uint8_t>& v, std::uint64_t x, int bytes) {
  for (int i = 0; i < bytes; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}

// An IVF file as ffmpeg writes it: VP80, 1/30 time base, the given frame sizes.
std::vector<std::uint8_t> ivf(const std::vector<std::size_t>& sizes, std::uint32_t den = 30,
                              std::uint32_t num = 1) {
  std::vector<std::uint8_t> v{'D', 'K', 'I', 'F'};
  le(v, 0, 2);
  le(v, 32, 2);
  v.insert(v.end(), {'V', 'P', '8', '0'});
  le(v, 640, 2);
  le(v, 360, 2);
  le(v, den, 4);
  le(v, num, 4);
  le(v, sizes.size(), 4);
  le(v, 0, 4);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    le(v, sizes[i], 4);
    le(v, i * 2, 8);  // pts 0, 2, 4: every other tick
    for (std::size_t k = 0; k < sizes[i]; ++k) v.push_back(static_cast<std::uint8_t>(i + k));
  }
  return v;
}

}  // namespace

TEST(IvfReader, ReadsHeaderAndFrames) {
  auto file = ivf({5, 0, 300});
  IvfReader r;
  ASSERT_EQ(IvfReader::open(file, r), IvfStatus::kOk);
  EXPECT_EQ(r.header().codec(), "VP80");
  EXPECT_EQ(r.header().width, 640);
  EXPECT_EQ(r.header().height, 360);
  EXPECT_EQ(r.header().timebase_den, 30u);
  EXPECT_EQ(r.header().timebase_num, 1u);
  EXPECT_EQ(r.header().frame_count, 3u);
  IvfFrame f;
  ASSERT_EQ(r.next(f), IvfStatus::kOk);
  EXPECT_EQ(f.pts, 0u);
  ASSERT_EQ(f.data.size(), 5u);
  EXPECT_EQ(f.data[4], 4);
  EXPECT_EQ(f.offset, 32u);
  ASSERT_EQ(r.next(f), IvfStatus::kOk);
  EXPECT_EQ(f.pts, 2u);
  EXPECT_TRUE(f.data.empty());
  ASSERT_EQ(r.next(f), IvfStatus::kOk);
  EXPECT_EQ(f.pts, 4u);
  ASSERT_EQ(f.data.size(), 300u);
  EXPECT_EQ(f.data[0], 2);
  EXPECT_EQ(r.header().to_90khz(f.pts), 12000u);  // 4/30 s
  EXPECT_EQ(r.header().to_us(f.pts), 133333u);
  EXPECT_EQ(r.next(f), IvfStatus::kEnd);
  EXPECT_EQ(r.next(f), IvfStatus::kEnd);
  r.rewind();
  ASSERT_EQ(r.next(f), IvfStatus::kOk);
  EXPECT_EQ(f.pts, 0u);
}

TEST(IvfReader, TimeBaseConversions) {
  auto file = ivf({1}, 90000, 1);  // a 90 kHz time base maps 1:1
  IvfReader r;
  ASSERT_EQ(IvfReader::open(file, r), IvfStatus::kOk);
  EXPECT_EQ(r.header().to_90khz(123456789012ull), 123456789012ull);
  EXPECT_EQ(r.header().to_us(90000), 1'000'000u);
}

TEST(IvfReader, RejectsBadHeaders) {
  IvfReader r;
  auto file = ivf({4});
  EXPECT_EQ(IvfReader::open(ByteSpan(file.data(), 31), r), IvfStatus::kTooShort);
  EXPECT_EQ(IvfReader::open(ByteSpan(), r), IvfStatus::kTooShort);
  auto bad = file;
  bad[0] = 'X';
  EXPECT_EQ(IvfReader::open(bad, r), IvfStatus::kBadSignature);
  bad = file;
  bad[6] = 31;  // header size below 32
  EXPECT_EQ(IvfReader::open(bad, r), IvfStatus::kBadHeaderSize);
  bad = file;
  bad[6] = 0xFF;  // header size past the end
  EXPECT_EQ(IvfReader::open(bad, r), IvfStatus::kBadHeaderSize);
  bad = ivf({4}, 0, 1);
  EXPECT_EQ(IvfReader::open(bad, r), IvfStatus::kBadTimeBase);
  bad = ivf({4}, 30, 0);
  EXPECT_EQ(IvfReader::open(bad, r), IvfStatus::kBadTimeBase);
}

TEST(IvfReader, LongerHeaderIsSkipped) {
  auto file = ivf({3});
  file[6] = 36;
  file.insert(file.begin() + 32, {0, 0, 0, 0});
  IvfReader r;
  ASSERT_EQ(IvfReader::open(file, r), IvfStatus::kOk);
  IvfFrame f;
  ASSERT_EQ(r.next(f), IvfStatus::kOk);
  EXPECT_EQ(f.data.size(), 3u);
  EXPECT_EQ(r.next(f), IvfStatus::kEnd);
}

TEST(IvfReader, EveryTruncationEndsInAStatus) {
  auto file = ivf({10, 20, 30});
  for (std::size_t n = 32; n < file.size(); ++n) {
    IvfReader r;
    ASSERT_EQ(IvfReader::open(ByteSpan(file.data(), n), r), IvfStatus::kOk);
    IvfFrame f;
    IvfStatus s;
    std::size_t frames = 0;
    while ((s = r.next(f)) == IvfStatus::kOk) {
      ASSERT_LE(f.data.data() + f.data.size(), file.data() + n);
      ++frames;
    }
    // Frame boundaries: 32, 54, 86, 128 (the full file).
    const bool boundary = n == 32 || n == 54 || n == 86;
    EXPECT_EQ(s, boundary ? IvfStatus::kEnd : IvfStatus::kTruncatedFrame) << n;
    EXPECT_EQ(r.next(f), s) << "an error is sticky";
    EXPECT_LE(frames, 2u);
  }
}

TEST(IvfReader, HugeFrameSizeIsRejected) {
  auto file = ivf({4});
  file[32 + 3] = 0xFF;  // size 0xFF000004
  IvfReader r;
  ASSERT_EQ(IvfReader::open(file, r), IvfStatus::kOk);
  IvfFrame f;
  EXPECT_EQ(r.next(f), IvfStatus::kFrameTooLarge);
  EXPECT_STREQ(to_string(IvfStatus::kFrameTooLarge), "frame_too_large");
}
