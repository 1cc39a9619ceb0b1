// Accounts and sessions: registration, login, rotating refresh tokens, access-token checks.
// Refresh tokens are random 32-byte strings stored only as SHA-256; each use returns a new one
// and marks the old one used; presenting a used one again means it was stolen, so the whole
// family (every token descended from that login) is revoked.
#pragma once

#include <cstdint>
#include <string>

#include "auth/password.hpp"
#include "auth/tokens.hpp"
#include "core/ids.hpp"
#include "store/store.hpp"

namespace hype::auth {

struct Session {
  store::User user;
  std::string access_token;
  std::string refresh_token;
  int expires_in = 0;  // seconds until the access token expires
};

struct AuthOptions {
  int access_ttl = 900;
  int refresh_ttl = 30 * 86400;
  int argon2_ops = 2;
  int argon2_mem_kib = 65536;
};

class AuthService {
 public:
  AuthService(store::Store& store, SnowflakeGenerator& ids, const TokenSigner& signer,
              AuthOptions opts);

  Session register_user(const std::string& username, const std::string& password);
  Session login(const std::string& username, const std::string& password);
  Session refresh(const std::string& refresh_token);
  void logout(const std::string& refresh_token);
  // Checks an access token; throws ApiError 401 (invalid_token / token_expired).
  Id authenticate(const std::string& access_token) const;
  store::User me(Id user_id);

 private:
  Session issue(const store::User& u, Id family_id);

  store::Store& store_;
  SnowflakeGenerator& ids_;
  const TokenSigner& signer_;
  AuthOptions opts_;
  PasswordHasher hasher_;
};

}  // namespace hype::auth
