// Signed tokens: compact JWS (RFC 7515). Access tokens ("typ":"access") name a user and are
// HS256 (TokenSigner: the API and gateway share the key). Voice tokens ("typ":"voice") name
// user, channel, SFU node and voice session and are EdDSA / Ed25519 (RFC 8037,
// VoiceTokenSigner): the API mints them with the private key, SFU nodes only hold the public
// key (VoiceTokenVerifier), so a compromised media node cannot mint access to any channel.
// Both are short-lived and checked on every use: signature (constant time for HMAC), the
// exact header (no algorithm confusion, no "none"), type and expiry.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/ids.hpp"

namespace hype::auth {

struct TokenClaims {
  std::string typ;  // "access" | "voice"
  Id user_id = 0;
  Id channel_id = 0;                // voice only
  std::string node;                 // voice only: SFU node id
  std::uint64_t voice_session = 0;  // voice only: the VoiceState::session it was minted for
  std::int64_t iat = 0;             // seconds
  std::int64_t exp = 0;             // seconds
};

enum class TokenError { malformed, bad_signature, expired, wrong_type };

struct TokenCheck {
  std::optional<TokenClaims> claims;
  TokenError error = TokenError::malformed;
};

class TokenSigner {
 public:
  explicit TokenSigner(std::string secret);
  std::string sign(const TokenClaims& c) const;
  TokenCheck verify(const std::string& token, const std::string& expected_typ,
                    std::int64_t now_s) const;

 private:
  std::string hmac(const std::string& data) const;
  std::string secret_;
};

// Ed25519 keys: a 32-byte seed (private) and the 32-byte public key derived from it.
using VoicePublicKey = std::array<unsigned char, 32>;

class VoiceTokenVerifier {
 public:
  explicit VoiceTokenVerifier(const VoicePublicKey& key) : key_(key) {}
  // The public key in base64url (no padding), what `auth.voice_public_key` takes; nullopt if
  // `text` is not one.
  static std::optional<VoicePublicKey> parse_key(const std::string& text);
  std::string key_text() const;
  TokenCheck verify(const std::string& token, const std::string& expected_typ,
                    std::int64_t now_s) const;

 private:
  VoicePublicKey key_;
};

class VoiceTokenSigner {
 public:
  // `seed`: 32 bytes (the private key); throws std::invalid_argument otherwise.
  explicit VoiceTokenSigner(const std::string& seed);
  // The 32-byte seed derived from a configured secret (`auth.voice_key`, >= 32 characters).
  static std::string seed_from_secret(const std::string& secret);
  ~VoiceTokenSigner();  // wipes the secret key
  VoiceTokenSigner(const VoiceTokenSigner&) = delete;
  VoiceTokenSigner& operator=(const VoiceTokenSigner&) = delete;
  std::string sign(const TokenClaims& c) const;
  const VoiceTokenVerifier& verifier() const { return verifier_; }

 private:
  std::array<unsigned char, 64> secret_{};
  VoiceTokenVerifier verifier_;
};

}  // namespace hype::auth
