#include <gtest/gtest.h>

#include "core/random.hpp"
#include "core/utf8.hpp"

using namespace hype;

TEST(Utf8, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(is_valid_utf8("hello"));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xFF"));
  EXPECT_FALSE(is_valid_utf8("a\x80z"));
  EXPECT_EQ(utf8_length("h\xC3\xA9\xF0\x9F\x98\x80"), 3u);
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::size_t n = 0; n < 40; ++n) {
    std::string raw(n, '\0');
    random_bytes(raw.data(), n);
    std::string enc = base64url_encode(raw.data(), raw.size()), dec;
    ASSERT_TRUE(base64url_decode(enc, dec));
    EXPECT_EQ(dec, raw);
  }
  std::string out;
  EXPECT_FALSE(base64url_decode("ab+c", out));
  EXPECT_FALSE(base64url_decode("a", out));
  EXPECT_EQ(base64_encode("hello", 5), "aGVsbG8=");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(random_token(32), random_token(32));
  EXPECT_EQ(random_token(32).size(), 43u);
}

TEST(Utf8, BlankTextIsUnicodeWhiteSpaceAndInvisibles) {
  EXPECT_TRUE(is_blank_text(""));
  EXPECT_TRUE(is_blank_text(" \t\r\n"));
  EXPECT_TRUE(is_blank_text("\xE3\x80\x80"));              // U+3000 ideographic space
  EXPECT_TRUE(is_blank_text("\xC2\xA0\xC2\xA0"));          // NBSP
  EXPECT_TRUE(is_blank_text("\xE2\x80\xA8\xE2\x80\xA9"));  // U+2028, U+2029
  EXPECT_TRUE(is_blank_text("\xC2\x85"));                  // U+0085 NEL
  EXPECT_TRUE(is_blank_text("\xE1\x9A\x80\xE2\x80\x80\xE2\x80\x8A\xE2\x80\xAF\xE2\x81\x9F"));
  EXPECT_TRUE(
      is_blank_text("\xE2\x80\x8B\xE2\x80\x8C\xE2\x80\x8D"));  // zero-width space, ZWNJ, ZWJ
  EXPECT_TRUE(is_blank_text("\xEF\xBB\xBF\xE2\x81\xA0"));      // BOM, word joiner
  EXPECT_TRUE(is_blank_text("\xE2\x80\xAE\xE2\x81\xA6"));      // bidi override, isolate
  EXPECT_TRUE(is_blank_text("\xE3\x85\xA4\xE1\x85\x9F\xEF\xBE\xA0"));  // Hangul fillers
  EXPECT_TRUE(is_blank_text("\xE2\xA0\x80"));                          // U+2800 braille blank
  EXPECT_TRUE(is_blank_text("\xF3\xA0\x80\x81\xEF\xB8\x8F"));          // tag, variation selector
  EXPECT_TRUE(is_blank_text("\xC2\xAD\xE1\xA0\x8E"));                  // soft hyphen, U+180E

  EXPECT_FALSE(is_blank_text("a"));
  EXPECT_FALSE(is_blank_text("\xE3\x80\x80x\xE3\x80\x80"));
  EXPECT_FALSE(is_blank_text("\xF0\x9F\x98\x80"));              // emoji
  EXPECT_FALSE(is_blank_text("\xE2\x80\x8D\xF0\x9F\x98\x80"));  // ZWJ + emoji
  EXPECT_FALSE(is_blank_text("\xE3\x80\x81"));                  // U+3001 next to U+3000
  EXPECT_FALSE(is_blank_text("\xE2\x80\x90"));                  // U+2010 hyphen, after U+200F
  EXPECT_FALSE(is_blank_text("\xE2\xA0\x81"));                  // U+2801 braille dot
  EXPECT_FALSE(is_blank_text("."));
}
