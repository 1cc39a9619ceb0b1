// RED (RFC 2198) payloads: Chromium's layout (one redundant block + primary, two redundant),
// a primary-only payload, and every malformed shape refused without reading past the end.
#include "rtc/rtp/red.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string_view>
#include <vector>

namespace hype::rtc {
namespace {

ByteSpan bytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}
std::string_view text(ByteSpan b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(Red, OneRedundantBlockAndThePrimary) {
  // F=1 PT=111, offset 960, length 3; then F=0 PT=111; data "old" then "new!".
  const std::vector<std::uint8_t> p = {0xEF, 0x0F, 0x00, 0x03, 0x6F, 'o',
                                       'l',  'd',  'n',  'e',  'w',  '!'};
  RedPayload red;
  ASSERT_EQ(parse_red(p, red), RedParseStatus::kOk);
  ASSERT_EQ(red.count, 2u);
  EXPECT_EQ(red.blocks[0].payload_type, 111);
  EXPECT_EQ(red.blocks[0].timestamp_offset, 960);
  EXPECT_EQ(text(red.blocks[0].data), "old");
  EXPECT_EQ(red.primary().payload_type, 111);
  EXPECT_EQ(red.primary().timestamp_offset, 0);
  EXPECT_EQ(text(red.primary().data), "new!");
}

TEST(Red, WriteThenParseTwoRedundantBlocks) {
  std::array<RedBlock, 3> blocks{RedBlock{111, 1920, bytes("oldest")},
                                 RedBlock{111, 960, bytes("")}, RedBlock{111, 0, bytes("primary")}};
  std::array<std::uint8_t, 64> out{};
  std::size_t n = write_red(blocks, out);
  ASSERT_EQ(n, 4u + 4u + 1u + 6u + 0u + 7u);
  RedPayload red;
  ASSERT_EQ(parse_red(ByteSpan(out.data(), n), red), RedParseStatus::kOk);
  ASSERT_EQ(red.count, 3u);
  EXPECT_EQ(red.blocks[0].timestamp_offset, 1920);
  EXPECT_EQ(text(red.blocks[0].data), "oldest");
  EXPECT_TRUE(red.blocks[1].data.empty());  // an empty block (DTX) is allowed
  EXPECT_EQ(text(red.primary().data), "primary");
}

TEST(Red, PrimaryOnlyAndEmptyPrimary) {
  const std::vector<std::uint8_t> only = {0x6F, 1, 2, 3};
  RedPayload red;
  ASSERT_EQ(parse_red(only, red), RedParseStatus::kOk);
  EXPECT_EQ(red.count, 1u);
  EXPECT_EQ(red.primary().data.size(), 3u);
  const std::vector<std::uint8_t> empty_primary = {0x6F};
  ASSERT_EQ(parse_red(empty_primary, red), RedParseStatus::kOk);
  EXPECT_TRUE(red.primary().data.empty());
}

TEST(Red, MalformedPayloadsAreRefused) {
  RedPayload red;
  EXPECT_EQ(parse_red(ByteSpan(), red), RedParseStatus::kEmpty);
  // A redundant header cut short, and a header list with no primary.
  const std::vector<std::uint8_t> cut = {0xEF, 0x0F, 0x00};
  EXPECT_EQ(parse_red(cut, red), RedParseStatus::kTruncated);
  const std::vector<std::uint8_t> no_primary = {0xEF, 0x0F, 0x00, 0x00};
  EXPECT_EQ(parse_red(no_primary, red), RedParseStatus::kTruncated);
  // A block longer than what follows the headers.
  const std::vector<std::uint8_t> long_block = {0xEF, 0x0F, 0x00, 0x09, 0x6F, 1, 2};
  EXPECT_EQ(parse_red(long_block, red), RedParseStatus::kTruncated);
  EXPECT_EQ(red.count, 0u);
  // Headers that run out after two complete ones: nothing half-parsed is left.
  const std::vector<std::uint8_t> headers_only = {0xEF, 0x0F, 0x00, 0x9F, 0x96, 0x9C,
                                                  0x8F, 0x8D, 0x96, 0x98, 0x72, 0x79};
  EXPECT_EQ(parse_red(headers_only, red), RedParseStatus::kTruncated);
  EXPECT_EQ(red.count, 0u);
  // Nine blocks: more than the SFU accepts.
  std::vector<std::uint8_t> many;
  for (int i = 0; i < 8; ++i) many.insert(many.end(), {0xEF, 0x00, 0x00, 0x00});
  many.push_back(0x6F);
  EXPECT_EQ(parse_red(many, red), RedParseStatus::kTooManyBlocks);
  EXPECT_EQ(red.count, 0u);
}

TEST(Red, WriteRefusesWhatTheHeaderCannotCarry) {
  std::array<std::uint8_t, 2048> out{};
  std::vector<std::uint8_t> big(1024, 7);
  std::array<RedBlock, 2> too_long{RedBlock{111, 960, ByteSpan(big)}, RedBlock{111, 0, bytes("x")}};
  EXPECT_EQ(write_red(too_long, out), 0u);
  std::array<RedBlock, 2> too_old{RedBlock{111, 1u << 14, bytes("a")},
                                  RedBlock{111, 0, bytes("x")}};
  EXPECT_EQ(write_red(too_old, out), 0u);
  std::array<std::uint8_t, 3> small{};
  std::array<RedBlock, 1> one{RedBlock{111, 0, bytes("four")}};
  EXPECT_EQ(write_red(one, small), 0u);
}

}  // namespace
}  // namespace hype::rtc
