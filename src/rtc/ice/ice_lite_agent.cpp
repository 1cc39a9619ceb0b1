#include "rtc/ice/ice_lite_agent.hpp"

#include <utility>

namespace hype::rtc::ice {

IceLiteAgent::IceLiteAgent(IceCredentials local, IceCredentials remote)
    : local_(std::move(local)), remote_(std::move(remote)) {}

const IceLiteAgent::Path* IceLiteAgent::find_path(const SocketAddress& addr) const {
  for (std::size_t i = 0; i < path_count_; ++i) {
    if (paths_[i].addr == addr) return &paths_[i];
  }
  return nullptr;
}

bool IceLiteAgent::is_valid_path(const SocketAddress& addr) const {
  return find_path(addr) != nullptr;
}

IceLiteAgent::Path* IceLiteAgent::touch_path(const SocketAddress& addr, std::int64_t now_ms) {
  for (std::size_t i = 0; i < path_count_; ++i) {
    if (paths_[i].addr == addr) {
      paths_[i].last_check_ms = now_ms;
      return &paths_[i];
    }
  }
  std::size_t slot = path_count_;
  if (path_count_ < kMaxPaths) {
    ++path_count_;
  } else {
    // Full: replace the stalest path that is not the selected one.
    slot = 0;
    for (std::size_t i = 0; i < kMaxPaths; ++i) {
      bool sel = selected_ && paths_[i].addr == *selected_;
      bool slot_sel = selected_ && paths_[slot].addr == *selected_;
      if (!sel && (slot_sel || paths_[i].last_check_ms < paths_[slot].last_check_ms)) slot = i;
    }
  }
  paths_[slot] = {addr, now_ms};
  return &paths_[slot];
}

IceLiteOutcome IceLiteAgent::handle_stun(const stun::StunMessage& msg, const SocketAddress& from,
                                         std::int64_t now_ms, MutableByteSpan out) {
  IceLiteOutcome o;
  o.check = check_binding_request(msg, local_, remote_.ufrag, /*we_are_controlled=*/true);
  // Indications (keepalives) and stray responses get no answer.
  o.response_size = write_binding_response(msg, o.check, from, local_.pwd, out);
  if (o.check != RequestCheck::kValid) return o;

  touch_path(from, now_ms);
  IceState before = state_;
  if (state_ == IceState::kNew) state_ = IceState::kChecking;
  if (msg.use_candidate()) {
    if (!selected_ || *selected_ != from) {
      selected_ = from;
      o.selected_changed = true;
    }
    state_ = IceState::kConnected;
  } else if (state_ == IceState::kDisconnected && selected_ && *selected_ == from) {
    state_ = IceState::kConnected;  // consent regained on the nominated path
  }
  o.state_changed = state_ != before;
  return o;
}

std::int64_t IceLiteAgent::next_timeout_ms() const {
  if (state_ != IceState::kConnected || !selected_) return -1;
  const Path* p = find_path(*selected_);
  return p ? p->last_check_ms + kConsentTimeoutMs : -1;
}

bool IceLiteAgent::handle_timeout(std::int64_t now_ms) {
  std::int64_t deadline = next_timeout_ms();
  if (deadline < 0 || now_ms < deadline) return false;
  state_ = IceState::kDisconnected;
  return true;
}

void IceLiteAgent::restart(IceCredentials local, IceCredentials remote) {
  local_ = std::move(local);
  remote_ = std::move(remote);
  // Keep selected_ and its path: media continues until the browser nominates again.
  if (state_ == IceState::kDisconnected) state_ = IceState::kChecking;
}

}  // namespace hype::rtc::ice
