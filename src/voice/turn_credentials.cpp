#include "voice/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/random.hpp"

namespace hype::voice {

TurnCredential make_turn_credential(const std::string& secret, const std::string& user,
                                    std::int64_t expires_at_s) {
  TurnCredential c;
  c.username = std::to_string(expires_at_s) + ":" + user;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(), md, &len);
  c.credential = base64_encode(md, len);
  return c;
}

}  // namespace hype::voice
