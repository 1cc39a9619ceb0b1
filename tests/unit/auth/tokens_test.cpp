#include <gtest/gtest.h>

#include "auth/tokens.hpp"
#include "core/random.hpp"

using namespace hype;
using namespace hype::auth;

namespace {
const std::string kSecret = "0123456789abcdef0123456789abcdef-test";
TokenClaims access(Id user, std::int64_t iat, std::int64_t exp) {
  TokenClaims c;
  c.typ = "access";
  c.user_id = user;
  c.iat = iat;
  c.exp = exp;
  return c;
}
}  // namespace

TEST(Tokens, SignAndVerifyRoundTrip) {
  TokenSigner s(kSecret);
  std::string t = s.sign(access(42, 1000, 2000));
  auto r = s.verify(t, "access", 1500);
  ASSERT_TRUE(r.claims);
  EXPECT_EQ(r.claims->user_id, 42);
  EXPECT_EQ(r.claims->exp, 2000);
}

TEST(Tokens, VoiceTokenCarriesChannel) {
  TokenSigner s(kSecret);
  TokenClaims c = access(7, 0, 100);
  c.typ = "voice";
  c.channel_id = 99;
  c.node = "node-1";
  auto r = s.verify(s.sign(c), "voice", 50);
  ASSERT_TRUE(r.claims);
  EXPECT_EQ(r.claims->channel_id, 99);
  EXPECT_EQ(r.claims->node, "node-1");
  // A voice token is not an access token, and vice versa.
  EXPECT_EQ(s.verify(s.sign(c), "access", 50).error, TokenError::wrong_type);
}

TEST(Tokens, RejectsExpiredTamperedForeignAndMalformed) {
  TokenSigner s(kSecret);
  std::string t = s.sign(access(42, 1000, 2000));
  EXPECT_EQ(s.verify(t, "access", 2000).error, TokenError::expired);
  TokenSigner other("another-secret-that-is-long-enough-123");
  EXPECT_EQ(other.verify(t, "access", 1500).error, TokenError::bad_signature);
  std::string tampered = t;
  tampered[tampered.find('.') + 5] ^= 1;
  EXPECT_FALSE(s.verify(tampered, "access", 1500).claims);
  for (const std::string& bad :
       std::vector<std::string>{"", "a.b", "a.b.c.d", "...", t + ".", "x" + t})
    EXPECT_FALSE(s.verify(bad, "access", 1500).claims) << bad;
  // alg=none with our payload and no signature.
  std::string none_header = base64url_encode(R"({"alg":"none","typ":"JWT"})", 26);
  std::string payload = t.substr(t.find('.') + 1, t.rfind('.') - t.find('.') - 1);
  EXPECT_FALSE(s.verify(none_header + "." + payload + ".", "access", 1500).claims);
}

TEST(Tokens, ShortSecretIsRefused) {
  EXPECT_THROW(TokenSigner("short"), std::invalid_argument);
}
