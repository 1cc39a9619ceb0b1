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
