#include <gtest/gtest.h>

#include <vector>

#include "sfu/packet_cache.hpp"

using hype::sfu::PacketCache;

TEST(PacketCache, StoresAndFindsBySequence) {
  PacketCache c(100);  // rounded to 128
  EXPECT_EQ(c.capacity(), 128u);
  std::vector<std::uint8_t> p(200, 0xAB);
  ASSERT_TRUE(c.store(7, p, 0));
  auto f = c.find(7);
  ASSERT_EQ(f.size(), 200u);
  EXPECT_EQ(f[199], 0xAB);
  EXPECT_TRUE(c.find(8).empty());
  EXPECT_TRUE(c.find(7 + 128).empty());  // same slot, other sequence number
}

TEST(PacketCache, OverwrittenSlotsDoNotAnswer) {
  PacketCache c(4);
  std::vector<std::uint8_t> p(20);
  for (std::uint16_t s = 0; s < 10; ++s) {
    p[0] = static_cast<std::uint8_t>(s);
    c.store(s, p, s);
  }
  EXPECT_TRUE(c.find(5).empty());
  ASSERT_FALSE(c.find(9).empty());
  EXPECT_EQ(c.find(9)[0], 9);
}

TEST(PacketCache, WrapsAndAges) {
  PacketCache c(8);
  std::vector<std::uint8_t> p(20, 1);
  c.store(65535, p, 0);
  c.store(0, p, 10);
  EXPECT_FALSE(c.find(65535).empty());
  EXPECT_FALSE(c.find(0).empty());
  EXPECT_TRUE(c.find(65535, 2000, 1000).empty());
  EXPECT_FALSE(c.find(0, 1000, 1000).empty());
}

TEST(PacketCache, RejectsOversizeAndEmpty) {
  PacketCache c(8);
  std::vector<std::uint8_t> big(PacketCache::kMaxPacketSize + 1);
  EXPECT_FALSE(c.store(1, big, 0));
  EXPECT_FALSE(c.store(1, {}, 0));
  EXPECT_TRUE(c.find(1).empty());
}
