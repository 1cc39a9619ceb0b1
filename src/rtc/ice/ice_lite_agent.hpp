// ICE-lite agent for the SFU side of one participant transport (RFC 8445 section 2.5). It
// never sends checks: it answers the browser's Binding requests, learns every source address
// that passes a check (peer-reflexive: Chromium often checks from an address it never
// signalled), selects the path the controlling browser nominates with USE-CANDIDATE, and
// enforces consent freshness (RFC 7675): the selected path is dead after 30 s without a
// valid check. ICE restart swaps credentials while media keeps flowing on the old path until
// the new one is nominated. No allocation per request; responses go to a caller buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "rtc/ice/ice_common.hpp"

namespace hype::rtc::ice {

struct IceLiteOutcome {
  std::size_t response_size = 0;  // bytes written to `out`, send them to `from`; 0: none
  bool selected_changed = false;  // the nominated path is new (route media to selected())
  bool state_changed = false;
  RequestCheck check = RequestCheck::kNotBindingRequest;
};

class IceLiteAgent {
 public:
  static constexpr std::size_t kMaxPaths = 8;

  IceLiteAgent(IceCredentials local, IceCredentials remote);

  // Handles one parsed STUN message from `from`; writes the response (if any) into out.
  IceLiteOutcome handle_stun(const stun::StunMessage& msg, const SocketAddress& from,
                             std::int64_t now_ms, MutableByteSpan out);
  // Consent freshness; returns true when the state changed (to kDisconnected).
  bool handle_timeout(std::int64_t now_ms);
  // When handle_timeout must run next (absolute ms), or -1.
  std::int64_t next_timeout_ms() const;

  // New credentials on both sides (offer/answer with new ice-ufrag/pwd).
  void restart(IceCredentials local, IceCredentials remote);

  IceState state() const { return state_; }
  const std::optional<SocketAddress>& selected() const { return selected_; }
  const IceCredentials& local_credentials() const { return local_; }
  // Is `addr` a path that passed a check (so media from it may be accepted)?
  bool is_valid_path(const SocketAddress& addr) const;

 private:
  struct Path {
    SocketAddress addr;
    std::int64_t last_check_ms = 0;
  };
  Path* touch_path(const SocketAddress& addr, std::int64_t now_ms);
  const Path* find_path(const SocketAddress& addr) const;

  IceCredentials local_;
  IceCredentials remote_;
  IceState state_ = IceState::kNew;
  std::optional<SocketAddress> selected_;
  std::array<Path, kMaxPaths> paths_{};
  std::size_t path_count_ = 0;
};

}  // namespace hype::rtc::ice
