// TURN REST API credentials (draft-uberti-behave-turn-rest, as coturn's use-auth-secret
// implements it): username "<expiry unix seconds>:<user id>", password
// base64(HMAC-SHA1(secret, username)). coturn checks them without calling us.
#pragma once

#include <cstdint>
#include <string>

namespace hype::voice {

struct TurnCredential {
  std::string username;
  std::string credential;
};

TurnCredential make_turn_credential(const std::string& secret, const std::string& user,
                                    std::int64_t expires_at_s);

}  // namespace hype::voice
