#include <gtest/gtest.h>

#include "auth/password.hpp"

using namespace hype::auth;

TEST(Password, Argon2idHashVerifies) {
  PasswordHasher h(1, 8192);
  std::string hash = h.hash("correct horse battery staple");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_TRUE(h.verify(hash, "correct horse battery staple"));
  EXPECT_FALSE(h.verify(hash, "correct horse battery stapl"));
  EXPECT_FALSE(h.verify("not a hash", "x"));
  // Salted: the same password hashes differently each time.
  EXPECT_NE(hash, h.hash("correct horse battery staple"));
}

TEST(Password, HashCarriesItsParameters) {
  PasswordHasher strong(3, 16384);
  std::string hash = strong.hash("pw-123456");
  EXPECT_NE(hash.find("m=16384,t=3"), std::string::npos) << hash;
  PasswordHasher weak(1, 8192);
  EXPECT_TRUE(weak.verify(hash, "pw-123456"));  // old hashes stay verifiable
}
