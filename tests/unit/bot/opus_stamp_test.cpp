#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "bot/opus_loop.hpp"
#include "bot/opus_stamp.hpp"

using namespace hype::bot;

namespace {

int decoded_samples(const std::uint8_t* d, int n) {
  int err = 0;
  OpusDecoder* dec = opus_decoder_create(48000, 1, &err);
  std::array<float, 5760> pcm{};
  int r = opus_decode_float(dec, d, n, pcm.data(), 5760, 0);
  opus_decoder_destroy(dec);
  return r;
}

}  // namespace

TEST(OpusStamp, RoundTripsAndStaysDecodable) {
  OpusLoop loop(0);
  const OpusFrame& fr = loop.at(0);  // slot 0 talks during its first second
  ASSERT_FALSE(fr.data.empty());
  ASSERT_LT(fr.data.size(), 1400u);
  std::array<std::uint8_t, 1500> buf{};
  std::memcpy(buf.data(), fr.data.data(), fr.data.size());
  int n =
      opus_stamp(buf.data(), static_cast<int>(fr.data.size()), 0x0123456789abcdefULL, 0xfedcba98U);
  ASSERT_EQ(n, static_cast<int>(fr.data.size()) + kOpusStampBytes);
  auto t = opus_read_stamp(buf.data(), static_cast<std::size_t>(n));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->t_us, 0x0123456789abcdefULL);
  EXPECT_EQ(t->sender, 0xfedcba98U);
  // Still one 20 ms Opus frame for a decoder, padding and all.
  EXPECT_EQ(decoded_samples(buf.data(), n), 960);
  EXPECT_EQ(decoded_samples(fr.data.data(), static_cast<int>(fr.data.size())), 960);
}

TEST(OpusStamp, UnstampedOrForeignPacketsHaveNoStamp) {
  OpusLoop loop(0);
  const OpusFrame& fr = loop.at(0);
  EXPECT_FALSE(opus_read_stamp(fr.data.data(), fr.data.size()).has_value());
  std::array<std::uint8_t, 20> code3_zero_padding{0x03, 0x41, 0x0e};  // padded, no "HS"
  EXPECT_FALSE(opus_read_stamp(code3_zero_padding.data(), code3_zero_padding.size()));
  EXPECT_FALSE(opus_read_stamp(nullptr, 0));
}

TEST(OpusLoop, TalkSpurtsAndDtx) {
  OpusLoop loop(1);  // slot 1: silent during the second second of the 3 s cycle
  for (int frame_ms : {20, 10}) {
    const int frames = OpusLoop::kLoopMs / frame_ms;
    int sent_talking = 0, sent_silent = 0;
    for (int n = 0; n < frames; ++n) {
      const OpusFrame& fr = loop.at(n * frame_ms, frame_ms);
      bool talking = (n * frame_ms / 1000 + 1) % 3 != 2;
      EXPECT_EQ((fr.level & 0x80) != 0, talking) << frame_ms << " ms, frame " << n;
      if (fr.data.empty()) continue;
      (talking ? sent_talking : sent_silent)++;
    }
    EXPECT_EQ(sent_talking, frames * 2 / 3) << frame_ms;  // every talking frame is sent
    EXPECT_LT(sent_silent, frames * 2 / 15) << frame_ms;  // DTX: hangover and refresh frames only
    EXPECT_EQ(&loop.at(0, frame_ms), &loop.at(3000, frame_ms));  // the loop repeats every 3 s
  }
}

TEST(OpusLoop, FramesAreAsLongAsAsked) {
  OpusLoop loop(0);
  const OpusFrame& f20 = loop.at(0, 20);
  const OpusFrame& f10 = loop.at(0, 10);
  ASSERT_FALSE(f20.data.empty());
  ASSERT_FALSE(f10.data.empty());
  EXPECT_EQ(decoded_samples(f20.data.data(), static_cast<int>(f20.data.size())), 960);
  EXPECT_EQ(decoded_samples(f10.data.data(), static_cast<int>(f10.data.size())), 480);
  EXPECT_EQ(&loop.at(0), &f20);  // 20 ms unless asked
  EXPECT_NE(&loop.at(10, 10), &f10);
}
