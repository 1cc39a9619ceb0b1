#include "rtc/ice/ice_common.hpp"

#include "core/random.hpp"

namespace hype::rtc::ice {

IceCredentials random_credentials() {
  // base64url of 6 / 18 random bytes: 8 and 24 characters from the ice-char set.
  auto ufrag = hype::random_token(6);
  auto pwd = hype::random_token(18);
  // ice-char is ALPHA / DIGIT / "+" / "/": map base64url's '-' and '_' into it.
  for (auto* s : {&ufrag, &pwd}) {
    for (auto& c : *s) {
      if (c == '-') c = '+';
      if (c == '_') c = '/';
    }
  }
  return {ufrag, pwd};
}

const char* to_string(IceState s) {
  switch (s) {
    case IceState::kNew:
      return "new";
    case IceState::kChecking:
      return "checking";
    case IceState::kConnected:
      return "connected";
    case IceState::kDisconnected:
      return "disconnected";
    case IceState::kFailed:
      return "failed";
  }
  return "?";
}

std::string_view local_ufrag_of(const stun::StunMessage& req) {
  auto u = req.username();
  if (!u) return {};
  return u->substr(0, u->find(':'));
}

RequestCheck check_binding_request(const stun::StunMessage& req, const IceCredentials& local,
                                   std::string_view remote_ufrag, bool we_are_controlled) {
  if (req.method() != stun::Method::kBinding ||
      req.message_class() != stun::MessageClass::kRequest) {
    return RequestCheck::kNotBindingRequest;
  }
  auto user = req.username();
  if (!user || !req.has_message_integrity()) return RequestCheck::kBadRequest;
  auto colon = user->find(':');
  if (colon == std::string_view::npos || user->substr(0, colon) != local.ufrag) {
    return RequestCheck::kUnauthorized;
  }
  // The remote part is checked only when known: with trickle/offer-answer races the first
  // checks may arrive before the answer carrying the remote ufrag (RFC 8445 7.3).
  if (!remote_ufrag.empty() && user->substr(colon + 1) != remote_ufrag) {
    return RequestCheck::kUnauthorized;
  }
  if (!req.verify_message_integrity(as_bytes(local.pwd))) return RequestCheck::kUnauthorized;
  if (we_are_controlled ? req.ice_controlled().has_value() : req.ice_controlling().has_value()) {
    return RequestCheck::kRoleConflict;
  }
  return RequestCheck::kValid;
}

std::size_t write_binding_response(const stun::StunMessage& req, RequestCheck check,
                                   const SocketAddress& from, std::string_view local_pwd,
                                   MutableByteSpan out) {
  if (check == RequestCheck::kNotBindingRequest) return 0;
  if (check == RequestCheck::kValid) {
    stun::StunBuilder b(out, stun::MessageClass::kSuccessResponse, stun::Method::kBinding,
                        req.transaction_id());
    b.add_xor_mapped_address(from).add_message_integrity(as_bytes(local_pwd)).add_fingerprint();
    return b.finish();
  }
  stun::StunBuilder b(out, stun::MessageClass::kErrorResponse, stun::Method::kBinding,
                      req.transaction_id());
  switch (check) {
    case RequestCheck::kBadRequest:
      b.add_error_code(stun::kErrorBadRequest, "Bad Request");
      break;
    case RequestCheck::kUnauthorized:
      b.add_error_code(stun::kErrorUnauthorized, "Unauthorized");
      break;
    default:
      b.add_error_code(stun::kErrorRoleConflict, "Role Conflict");
      // 487 is authenticated: the integrity was valid, so sign the answer too.
      b.add_message_integrity(as_bytes(local_pwd));
      break;
  }
  b.add_fingerprint();
  return b.finish();
}

}  // namespace hype::rtc::ice
