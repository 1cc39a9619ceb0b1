// VP8 packetization (RFC 7741): descriptor bytes, balanced splits within the size limit,
// the S bit on the first packet only, the 15-bit picture id, the refusals, and what
// rtc::video::inspect_vp8 (the receive side) reads back.
#include "rtc/video/vp8_packetizer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "rtc/video/payload.hpp"

using namespace hype::rtc;
using namespace hype::rtc::video;

namespace {

std::vector<std::uint8_t> frame(std::size_t n) {
  std::vector<std::uint8_t> f(n);
  for (std::size_t i = 0; i < n; ++i) f[i] = static_cast<std::uint8_t>(i * 7 + 3);
  return f;
}

}  // namespace

TEST(Vp8Packetizer, SmallFrameIsOnePacketWithDescriptor) {
  Vp8Packetizer pk(1200);
  auto f = frame(100);
  ASSERT_EQ(pk.packet_count(f.size()), 1u);
  std::array<std::uint8_t, 1500> out{};
  std::size_t n = pk.write(f, 0x1234, 0, out);
  ASSERT_EQ(n, 104u);
  EXPECT_EQ(out[0], 0x90);         // X=1, S=1, PID=0
  EXPECT_EQ(out[1], 0x80);         // I=1
  EXPECT_EQ(out[2], 0x80 | 0x12);  // M=1 + high bits
  EXPECT_EQ(out[3], 0x34);
  EXPECT_TRUE(std::equal(f.begin(), f.end(), out.begin() + 4));
}

TEST(Vp8Packetizer, PictureIdKeepsFifteenBits) {
  Vp8Packetizer pk(1200);
  auto f = frame(1);
  std::array<std::uint8_t, 16> out{};
  ASSERT_EQ(pk.write(f, 0xFFFF, 0, out), 5u);
  EXPECT_EQ(out[2], 0xFF);  // M plus 0x7F
  EXPECT_EQ(out[3], 0xFF);
  ASSERT_EQ(pk.write(f, 0x8000, 0, out), 5u);  // wraps to 0
  EXPECT_EQ(out[2], 0x80);
  EXPECT_EQ(out[3], 0x00);
}

TEST(Vp8Packetizer, LargeFrameSplitsBalancedWithinLimit) {
  for (std::size_t max : {100u, 1200u}) {
    Vp8Packetizer pk(max);
    for (std::size_t size : {1u, 95u, 96u, 97u, 1196u, 1197u, 3000u, 50000u}) {
      auto f = frame(size);
      std::size_t count = pk.packet_count(size);
      ASSERT_EQ(count, (size + max - 5) / (max - 4)) << size;
      std::vector<std::uint8_t> joined;
      std::size_t smallest = SIZE_MAX, largest = 0;
      for (std::size_t i = 0; i < count; ++i) {
        std::array<std::uint8_t, 1500> out{};
        std::size_t n = pk.write(f, 7, i, out);
        ASSERT_GT(n, 4u);
        ASSERT_LE(n, max);
        EXPECT_EQ(out[0], i == 0 ? 0x90 : 0x80) << "S only on the first packet";
        EXPECT_EQ(out[3], 7);
        joined.insert(joined.end(), out.begin() + 4, out.begin() + static_cast<long>(n));
        smallest = std::min(smallest, n);
        largest = std::max(largest, n);
      }
      EXPECT_EQ(joined, f) << size;
      EXPECT_LE(largest - smallest, 1u) << size;
    }
  }
}

TEST(Vp8Packetizer, Refusals) {
  Vp8Packetizer pk(1200);
  std::array<std::uint8_t, 1500> out{};
  EXPECT_EQ(pk.packet_count(0), 0u);
  EXPECT_EQ(pk.write(ByteSpan(), 1, 0, out), 0u);
  auto f = frame(2000);
  EXPECT_EQ(pk.write(f, 1, 2, out), 0u) << "index past the last packet";
  std::array<std::uint8_t, 100> small{};
  EXPECT_EQ(pk.write(f, 1, 0, small), 0u) << "output too small";
  Vp8Packetizer tiny(4);
  EXPECT_EQ(tiny.packet_count(10), 0u);
  EXPECT_EQ(tiny.write(f, 1, 0, out), 0u);
}

TEST(Vp8Packetizer, DescriptorsReadBackWithInspect) {
  Vp8Packetizer pk(1200);
  auto f = frame(5000);
  f[0] = 0x00;  // a keyframe's frame tag and start code (RFC 6386 9.1)
  f[3] = 0x9d, f[4] = 0x01, f[5] = 0x2a;
  for (std::size_t i = 0; i < pk.packet_count(f.size()); ++i) {
    std::array<std::uint8_t, 1500> out{};
    std::size_t n = pk.write(f, 0x4321, i, out);
    auto info = inspect_vp8(ByteSpan(out.data(), n));
    ASSERT_TRUE(info.valid);
    EXPECT_EQ(info.frame_start, i == 0);
    EXPECT_EQ(info.keyframe, i == 0);
    EXPECT_EQ(info.picture_id, 0x4321);
    EXPECT_EQ(info.descriptor_size, kVp8DescriptorSize);
  }
}
