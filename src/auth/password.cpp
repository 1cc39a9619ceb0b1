#include "auth/password.hpp"

#include <sodium.h>

#include <stdexcept>

namespace hype::auth {

PasswordHasher::PasswordHasher(int ops_limit, int mem_limit_kib)
    : ops_(static_cast<unsigned long long>(ops_limit)),
      mem_bytes_(static_cast<std::size_t>(mem_limit_kib) * 1024) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium init failed");
  dummy_hash_ = hash("not a real password, only spends time");
}

std::string PasswordHasher::hash(const std::string& password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops_, mem_bytes_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("argon2id: out of memory");
  return out;
}

bool PasswordHasher::verify(const std::string& stored_hash, const std::string& password) const {
  return crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) == 0;
}

void PasswordHasher::verify_dummy(const std::string& password) const {
  (void)verify(dummy_hash_, password);
}

}  // namespace hype::auth
