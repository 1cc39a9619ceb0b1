// Signed tokens: compact JWS (RFC 7515) with HS256. Access tokens ("typ":"access") name a
// user; voice tokens ("typ":"voice") name user, channel and SFU node. Both are short-lived and
// checked on every use: signature (constant time), algorithm, type and expiry.
#pragma once

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

}  // namespace hype::auth
