#include "auth/auth_service.hpp"

#include <spdlog/spdlog.h>

#include "auth/validation.hpp"
#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/random.hpp"
#include "core/utf8.hpp"

namespace hype::auth {

AuthService::AuthService(store::Store& store, SnowflakeGenerator& ids, const TokenSigner& signer,
                         AuthOptions opts)
    : store_(store),
      ids_(ids),
      signer_(signer),
      opts_(opts),
      hasher_(opts.argon2_ops, opts.argon2_mem_kib) {}

Session AuthService::register_user(const std::string& username, const std::string& password) {
  validate_username(username);
  validate_password(password);
  store::User u;
  u.id = ids_.next();
  u.username = username;
  u.password_hash = hasher_.hash(password);
  u.created_at = unix_ms();
  try {
    store_.create_user(u);
  } catch (const ConflictError&) {
    throw conflict("username is taken", "username");
  }
  spdlog::info("user registered id={}", u.id);
  return issue(u, ids_.next());
}

Session AuthService::login(const std::string& username, const std::string& password) {
  // A name no account can have (NUL, invalid UTF-8) is a wrong credential, and must not
  // reach the store: PostgreSQL refuses such text with an error.
  if (username.empty() || username.size() > 64 || password.size() > 512 ||
      username.find('\0') != std::string::npos || !is_valid_utf8(username))
    throw unauthorized("wrong username or password");
  auto u = store_.find_user_by_name(username);
  if (!u) {
    hasher_.verify_dummy(password);
    throw unauthorized("wrong username or password");
  }
  if (!hasher_.verify(u->password_hash, password)) throw unauthorized("wrong username or password");
  return issue(*u, ids_.next());
}

Session AuthService::refresh(const std::string& refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > 256)
    throw ApiError(401, "invalid_token", "invalid refresh token");
  std::string hash = sha256_hex(refresh_token);
  auto t = store_.find_refresh_token(hash);
  if (!t || t->revoked) throw ApiError(401, "invalid_token", "invalid refresh token");
  if (t->expires_at <= unix_ms()) throw ApiError(401, "token_expired", "refresh token expired");
  if (!store_.consume_refresh_token(hash)) {
    // Already used: someone replayed it. Revoke every token of this login.
    store_.revoke_token_family(t->family_id);
    spdlog::warn("refresh token reuse detected user={} family={}: family revoked", t->user_id,
                 t->family_id);
    throw ApiError(401, "invalid_token", "refresh token was already used; please log in again");
  }
  auto u = store_.find_user(t->user_id);
  if (!u) throw ApiError(401, "invalid_token", "invalid refresh token");
  return issue(*u, t->family_id);
}

void AuthService::logout(const std::string& refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > 256) return;
  auto t = store_.find_refresh_token(sha256_hex(refresh_token));
  if (t) store_.revoke_token_family(t->family_id);
}

Id AuthService::authenticate(const std::string& access_token) const {
  auto check = signer_.verify(access_token, "access", unix_seconds());
  if (!check.claims) {
    if (check.error == TokenError::expired)
      throw ApiError(401, "token_expired", "access token expired");
    throw ApiError(401, "invalid_token", "invalid access token");
  }
  return check.claims->user_id;
}

store::User AuthService::me(Id user_id) {
  auto u = store_.find_user(user_id);
  if (!u) throw ApiError(401, "invalid_token", "user no longer exists");
  return *u;
}

Session AuthService::issue(const store::User& u, Id family_id) {
  std::int64_t now = unix_seconds();
  TokenClaims c;
  c.typ = "access";
  c.user_id = u.id;
  c.iat = now;
  c.exp = now + opts_.access_ttl;
  Session s;
  s.user = u;
  s.user.password_hash.clear();
  s.access_token = signer_.sign(c);
  s.refresh_token = random_token(32);
  s.expires_in = opts_.access_ttl;
  store::RefreshToken rt;
  rt.token_hash = sha256_hex(s.refresh_token);
  rt.user_id = u.id;
  rt.family_id = family_id;
  rt.expires_at = unix_ms() + static_cast<std::int64_t>(opts_.refresh_ttl) * 1000;
  store_.insert_refresh_token(rt);
  return s;
}

}  // namespace hype::auth
