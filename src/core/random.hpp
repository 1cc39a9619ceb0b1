// Cryptographically secure random bytes and tokens (OpenSSL's CSPRNG).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hype {

void random_bytes(void* out, std::size_t n);
std::uint64_t random_u64();
// n random bytes as URL-safe base64 without padding: tokens, invite codes, ICE credentials.
std::string random_token(std::size_t n_bytes);
std::string base64url_encode(const void* data, std::size_t n);
bool base64url_decode(const std::string& in, std::string& out);
std::string base64_encode(const void* data, std::size_t n);
std::string hex_encode(const void* data, std::size_t n);
std::string sha256_hex(const std::string& data);

}  // namespace hype
