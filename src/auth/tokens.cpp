#include "auth/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "core/random.hpp"

namespace hype::auth {

namespace json = boost::json;

namespace {
const std::string kHeader = base64url_encode(R"({"alg":"HS256","typ":"JWT"})", 27);
}

TokenSigner::TokenSigner(std::string secret) : secret_(std::move(secret)) {
  if (secret_.size() < 32) throw std::invalid_argument("token secret shorter than 32 bytes");
}

std::string TokenSigner::hmac(const std::string& data) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string TokenSigner::sign(const TokenClaims& c) const {
  json::object payload{{"typ", c.typ},
                       {"sub", id_to_string(c.user_id)},
                       {"iat", c.iat},
                       {"exp", c.exp},
                       {"jti", random_token(9)}};
  if (c.channel_id) payload["ch"] = id_to_string(c.channel_id);
  if (!c.node.empty()) payload["node"] = c.node;
  if (c.voice_session) payload["vs"] = std::to_string(c.voice_session);
  std::string body = json::serialize(payload);
  std::string signing_input = kHeader + "." + base64url_encode(body.data(), body.size());
  std::string mac = hmac(signing_input);
  return signing_input + "." + base64url_encode(mac.data(), mac.size());
}

TokenCheck TokenSigner::verify(const std::string& token, const std::string& expected_typ,
                               std::int64_t now_s) const {
  TokenCheck out;
  if (token.size() > 4096) return out;
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 == std::string::npos ? 0 : dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos ||
      token.find('.', dot2 + 1) != std::string::npos)
    return out;
  // The header must be exactly ours: no "alg":"none" or algorithm confusion.
  if (token.compare(0, dot1, kHeader) != 0) return out;
  std::string sig;
  if (!base64url_decode(token.substr(dot2 + 1), sig)) return out;
  std::string expect = hmac(token.substr(0, dot2));
  if (sig.size() != expect.size() || CRYPTO_memcmp(sig.data(), expect.data(), sig.size()) != 0) {
    out.error = TokenError::bad_signature;
    return out;
  }
  std::string body;
  if (!base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), body)) return out;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return out;
  auto& o = v.as_object();
  TokenClaims c;
  try {
    c.typ = json::value_to<std::string>(o.at("typ"));
    auto sub = parse_id(json::value_to<std::string>(o.at("sub")));
    if (!sub) return out;
    c.user_id = *sub;
    c.iat = o.at("iat").to_number<std::int64_t>();
    c.exp = o.at("exp").to_number<std::int64_t>();
    if (auto* ch = o.if_contains("ch")) {
      auto id = parse_id(json::value_to<std::string>(*ch));
      if (!id) return out;
      c.channel_id = *id;
    }
    if (auto* node = o.if_contains("node")) c.node = json::value_to<std::string>(*node);
    if (auto* vs = o.if_contains("vs")) {
      auto id = parse_id(json::value_to<std::string>(*vs));
      if (!id) return out;
      c.voice_session = static_cast<std::uint64_t>(*id);
    }
  } catch (const std::exception&) {
    return out;
  }
  if (c.typ != expected_typ) {
    out.error = TokenError::wrong_type;
    return out;
  }
  if (now_s >= c.exp) {
    out.error = TokenError::expired;
    return out;
  }
  out.claims = c;
  return out;
}

}  // namespace hype::auth
