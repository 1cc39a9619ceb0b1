#include "auth/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>

#include "core/random.hpp"

namespace hype::auth {

namespace json = boost::json;

namespace {
const std::string kHeader = base64url_encode(R"({"alg":"HS256","typ":"JWT"})", 27);
const std::string kEdHeader = base64url_encode(R"({"alg":"EdDSA","typ":"JWT"})", 27);

// header.payload of the claims (the signing input).
std::string signing_input(const std::string& header, const TokenClaims& c) {
  json::object payload{{"typ", c.typ},
                       {"sub", id_to_string(c.user_id)},
                       {"iat", c.iat},
                       {"exp", c.exp},
                       {"jti", random_token(9)}};
  if (c.channel_id) payload["ch"] = id_to_string(c.channel_id);
  if (!c.node.empty()) payload["node"] = c.node;
  if (c.voice_session) payload["vs"] = std::to_string(c.voice_session);
  std::string body = json::serialize(payload);
  return header + "." + base64url_encode(body.data(), body.size());
}

// A token's three parts, if it has exactly three and the header is exactly `header` (no
// "alg":"none" or algorithm confusion). `input` is header.payload; `sig` the decoded signature.
struct Parts {
  std::string input;
  std::string payload;  // base64url
  std::string sig;
};
std::optional<Parts> split(const std::string& token, const std::string& header) {
  if (token.size() > 4096) return std::nullopt;
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 == std::string::npos ? 0 : dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos ||
      token.find('.', dot2 + 1) != std::string::npos)
    return std::nullopt;
  if (token.compare(0, dot1, header) != 0) return std::nullopt;
  Parts p;
  if (!base64url_decode(token.substr(dot2 + 1), p.sig)) return std::nullopt;
  p.input = token.substr(0, dot2);
  p.payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  return p;
}

// The claims of a payload whose signature was checked: type and expiry.
TokenCheck read_claims(const std::string& payload_b64, const std::string& expected_typ,
                       std::int64_t now_s) {
  TokenCheck out;
  std::string body;
  if (!base64url_decode(payload_b64, body)) return out;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return out;
  auto& o = v.as_object();
  TokenClaims c;
  try {
    c.typ = json::value_to<std::string>(o.at("typ"));
    auto sub = parse_id(json::value_to<std::string>(o.at("sub")));
    if (!sub) return out;
    c.user_id = *sub;
    c.iat = o.at("iat").to_number<std::int64_t>();
    c.exp = o.at("exp").to_number<std::int64_t>();
    if (auto* ch = o.if_contains("ch")) {
      auto id = parse_id(json::value_to<std::string>(*ch));
      if (!id) return out;
      c.channel_id = *id;
    }
    if (auto* node = o.if_contains("node")) c.node = json::value_to<std::string>(*node);
    if (auto* vs = o.if_contains("vs")) {
      auto id = parse_id(json::value_to<std::string>(*vs));
      if (!id) return out;
      c.voice_session = static_cast<std::uint64_t>(*id);
    }
  } catch (const std::exception&) {
    return out;
  }
  if (c.typ != expected_typ) {
    out.error = TokenError::wrong_type;
    return out;
  }
  if (now_s >= c.exp) {
    out.error = TokenError::expired;
    return out;
  }
  out.claims = c;
  return out;
}

const bool kSodiumReady = sodium_init() >= 0;
}  // namespace

TokenSigner::TokenSigner(std::string secret) : secret_(std::move(secret)) {
  if (secret_.size() < 32) throw std::invalid_argument("token secret shorter than 32 bytes");
}

std::string TokenSigner::hmac(const std::string& data) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string TokenSigner::sign(const TokenClaims& c) const {
  std::string input = signing_input(kHeader, c);
  std::string mac = hmac(input);
  return input + "." + base64url_encode(mac.data(), mac.size());
}

TokenCheck TokenSigner::verify(const std::string& token, const std::string& expected_typ,
                               std::int64_t now_s) const {
  auto parts = split(token, kHeader);
  if (!parts) return {};
  std::string expect = hmac(parts->input);
  if (parts->sig.size() != expect.size() ||
      CRYPTO_memcmp(parts->sig.data(), expect.data(), expect.size()) != 0)
    return {std::nullopt, TokenError::bad_signature};
  return read_claims(parts->payload, expected_typ, now_s);
}

std::optional<VoicePublicKey> VoiceTokenVerifier::parse_key(const std::string& text) {
  std::string raw;
  if (!base64url_decode(text, raw) || raw.size() != crypto_sign_PUBLICKEYBYTES) return std::nullopt;
  VoicePublicKey key;
  std::copy(raw.begin(), raw.end(), key.begin());
  return key;
}

std::string VoiceTokenVerifier::key_text() const {
  return base64url_encode(key_.data(), key_.size());
}

TokenCheck VoiceTokenVerifier::verify(const std::string& token, const std::string& expected_typ,
                                      std::int64_t now_s) const {
  auto parts = split(token, kEdHeader);
  if (!parts) return {};
  if (parts->sig.size() != crypto_sign_BYTES ||
      crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(parts->sig.data()),
                                  reinterpret_cast<const unsigned char*>(parts->input.data()),
                                  parts->input.size(), key_.data()) != 0)
    return {std::nullopt, TokenError::bad_signature};
  return read_claims(parts->payload, expected_typ, now_s);
}

namespace {
VoicePublicKey public_key_of(const std::string& seed, std::array<unsigned char, 64>& secret) {
  if (!kSodiumReady) throw std::runtime_error("libsodium failed to initialize");
  if (seed.size() != crypto_sign_SEEDBYTES)
    throw std::invalid_argument("voice signing key must be 32 bytes");
  VoicePublicKey pk;
  crypto_sign_seed_keypair(pk.data(), secret.data(),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  return pk;
}
}  // namespace

std::string VoiceTokenSigner::seed_from_secret(const std::string& secret) {
  if (!kSodiumReady) throw std::runtime_error("libsodium failed to initialize");
  if (secret.size() < 32) throw std::invalid_argument("voice key shorter than 32 bytes");
  static constexpr char kContext[] = "hype voice token key v1";
  std::string seed(crypto_sign_SEEDBYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(seed.data()), seed.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     reinterpret_cast<const unsigned char*>(kContext), sizeof kContext - 1);
  return seed;
}

VoiceTokenSigner::VoiceTokenSigner(const std::string& seed)
    : verifier_(public_key_of(seed, secret_)) {}

VoiceTokenSigner::~VoiceTokenSigner() {
  sodium_memzero(secret_.data(), secret_.size());
}

std::string VoiceTokenSigner::sign(const TokenClaims& c) const {
  std::string input = signing_input(kEdHeader, c);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size(), secret_.data());
  return input + "." + base64url_encode(sig.data(), sig.size());
}

}  // namespace hype::auth
