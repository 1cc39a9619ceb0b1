// Password hashing with Argon2id (libsodium crypto_pwhash_str_alg). The stored string
// carries its own parameters, so raising the cost later keeps old hashes verifiable.
#pragma once

#include <string>

namespace hype::auth {

class PasswordHasher {
 public:
  PasswordHasher(int ops_limit, int mem_limit_kib);
  std::string hash(const std::string& password) const;
  bool verify(const std::string& stored_hash, const std::string& password) const;
  // Spends about the time of a real verify, for unknown users (no user enumeration by timing).
  void verify_dummy(const std::string& password) const;

 private:
  unsigned long long ops_;
  std::size_t mem_bytes_;
  std::string dummy_hash_;
};

}  // namespace hype::auth
