// Pieces shared by the ICE-lite server agent and the full controlling agent: credentials,
// states, and answering a Binding request (RFC 8445 7.3) - validate USERNAME and
// MESSAGE-INTEGRITY with the local password, then reply with XOR-MAPPED-ADDRESS signed the
// same way. Both agents are pure state machines: STUN in, datagrams and events out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/socket_address.hpp"
#include "rtc/bytes.hpp"
#include "rtc/stun/stun_message.hpp"

namespace hype::rtc::ice {

struct IceCredentials {
  std::string ufrag;
  std::string pwd;
};

// Fresh random credentials: 8-char ufrag (>= 4 required), 24-char pwd (>= 22 required).
IceCredentials random_credentials();

enum class IceState : std::uint8_t {
  kNew,           // nothing yet
  kChecking,      // checks in flight / valid checks seen, nothing nominated
  kConnected,     // a pair is nominated and consent is fresh
  kDisconnected,  // consent expired (RFC 7675: 30 s without a valid check / response)
  kFailed,        // every pair failed (controlling agent only)
};
const char* to_string(IceState s);

// Peer-reflexive type preference 110, local preference 65535, component 1 (RFC 8445 5.1.2).
inline constexpr std::uint32_t kPeerReflexivePriority = (110u << 24) | (65535u << 8) | 255u;
inline constexpr std::int64_t kConsentTimeoutMs = 30'000;

enum class RequestCheck : std::uint8_t {
  kValid,
  kNotBindingRequest,
  kBadRequest,    // missing USERNAME / MESSAGE-INTEGRITY: answer 400
  kUnauthorized,  // wrong ufrag or integrity: answer 401
  kRoleConflict,  // both sides claim the same role: answer 487
};

// USERNAME must be "<local ufrag>:<remote ufrag>" and MESSAGE-INTEGRITY keyed by local pwd.
// expect_controlling: true when we are controlled (the request must carry ICE-CONTROLLING).
RequestCheck check_binding_request(const stun::StunMessage& req, const IceCredentials& local,
                                   std::string_view remote_ufrag, bool we_are_controlled);

// The local ufrag part of a request's USERNAME, for routing a request to its agent on a
// shared port before the source address is known.
std::string_view local_ufrag_of(const stun::StunMessage& req);

// Writes the reply for `req` into out (success with XOR-MAPPED-ADDRESS, or an error). Returns
// the size, 0 on overflow.
std::size_t write_binding_response(const stun::StunMessage& req, RequestCheck check,
                                   const SocketAddress& from, std::string_view local_pwd,
                                   MutableByteSpan out);

}  // namespace hype::rtc::ice
