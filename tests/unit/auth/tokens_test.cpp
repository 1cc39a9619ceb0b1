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

namespace {
TokenClaims voice_claims(Id user, Id channel, std::int64_t exp) {
  TokenClaims c = access(user, 0, exp);
  c.typ = "voice";
  c.channel_id = channel;
  c.node = "node-2";
  c.voice_session = 77;
  return c;
}
}  // namespace

TEST(VoiceTokens, Ed25519SignedAndVerifiedWithThePublicKeyAlone) {
  VoiceTokenSigner api(VoiceTokenSigner::seed_from_secret(kSecret));
  std::string t = api.sign(voice_claims(7, 99, 100));
  EXPECT_EQ(t.substr(0, t.find('.')), base64url_encode(R"({"alg":"EdDSA","typ":"JWT"})", 27));
  // An SFU node holds only the public key, as text (auth.voice_public_key).
  auto key = VoiceTokenVerifier::parse_key(api.verifier().key_text());
  ASSERT_TRUE(key);
  VoiceTokenVerifier sfu(*key);
  auto r = sfu.verify(t, "voice", 50);
  ASSERT_TRUE(r.claims);
  EXPECT_EQ(r.claims->user_id, 7);
  EXPECT_EQ(r.claims->channel_id, 99);
  EXPECT_EQ(r.claims->node, "node-2");
  EXPECT_EQ(r.claims->voice_session, 77u);
  EXPECT_EQ(sfu.verify(t, "voice", 100).error, TokenError::expired);
  EXPECT_EQ(sfu.verify(t, "access", 50).error, TokenError::wrong_type);
}

TEST(VoiceTokens, TheSameSecretGivesTheSameKeyAndAnotherSecretAnother) {
  VoiceTokenSigner a(VoiceTokenSigner::seed_from_secret(kSecret));
  VoiceTokenSigner b(VoiceTokenSigner::seed_from_secret(kSecret));
  VoiceTokenSigner c(VoiceTokenSigner::seed_from_secret(kSecret + "x"));
  EXPECT_EQ(a.verifier().key_text(), b.verifier().key_text());
  EXPECT_NE(a.verifier().key_text(), c.verifier().key_text());
  EXPECT_EQ(a.verifier().key_text().size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_EQ(c.verifier().verify(a.sign(voice_claims(1, 2, 100)), "voice", 1).error,
            TokenError::bad_signature);
  EXPECT_THROW(VoiceTokenSigner::seed_from_secret("short"), std::invalid_argument);
  EXPECT_THROW(VoiceTokenSigner("not 32 bytes"), std::invalid_argument);
}

TEST(VoiceTokens, RefusesTamperingAlgorithmConfusionAndBadKeys) {
  VoiceTokenSigner api(VoiceTokenSigner::seed_from_secret(kSecret));
  const VoiceTokenVerifier& v = api.verifier();
  std::string t = api.sign(voice_claims(7, 99, 100));
  // Another channel in the payload, the signature kept.
  std::string forged_body =
      R"({"typ":"voice","sub":"7","iat":0,"exp":100,"ch":"98","node":"node-2"})";
  std::string forged = t.substr(0, t.find('.')) + "." +
                       base64url_encode(forged_body.data(), forged_body.size()) +
                       t.substr(t.rfind('.'));
  EXPECT_EQ(v.verify(forged, "voice", 50).error, TokenError::bad_signature);
  // An HS256 token keyed with the public key (algorithm confusion) or with any secret.
  TokenSigner hs(std::string(64, 'k'));
  EXPECT_FALSE(v.verify(hs.sign(voice_claims(7, 99, 100)), "voice", 50).claims);
  // The EdDSA header over an HMAC signature, and a truncated signature.
  std::string hs_tok = hs.sign(voice_claims(7, 99, 100));
  std::string mixed = t.substr(0, t.rfind('.')) + hs_tok.substr(hs_tok.rfind('.'));
  EXPECT_FALSE(v.verify(mixed, "voice", 50).claims);
  EXPECT_FALSE(v.verify(t.substr(0, t.size() - 4), "voice", 50).claims);
  // The HS256 verifier does not take an EdDSA token either.
  EXPECT_FALSE(hs.verify(t, "voice", 50).claims);
  for (const std::string& bad : std::vector<std::string>{"", "a.b", "...", t + ".", "x" + t})
    EXPECT_FALSE(v.verify(bad, "voice", 50).claims) << bad;
  for (const std::string& key : std::vector<std::string>{"", "abc", std::string(43, '*'),
                                                         base64url_encode("0123456789", 10)})
    EXPECT_FALSE(VoiceTokenVerifier::parse_key(key)) << key;
}
