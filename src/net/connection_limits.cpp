#include "net/connection_limits.hpp"

namespace hype::net {

ConnectionLimits::Ticket ConnectionLimits::add_sheddable(Kind kind, Shed shed) {
  std::lock_guard lock(mu_);
  Ticket t = ++next_;
  (kind == Kind::kIdleHttp ? idle_http_ : unauth_ws_).emplace(t, std::move(shed));
  return t;
}

bool ConnectionLimits::remove_sheddable(Ticket t) {
  if (!t) return false;
  std::lock_guard lock(mu_);
  return idle_http_.erase(t) > 0 || unauth_ws_.erase(t) > 0;
}

bool ConnectionLimits::shed_one() {
  Shed victim;
  {
    std::lock_guard lock(mu_);
    auto& from = !idle_http_.empty() ? idle_http_ : unauth_ws_;
    if (from.empty()) return false;
    victim = std::move(from.begin()->second);
    from.erase(from.begin());
  }
  victim();  // outside the lock: it may post or remove other tickets
  return true;
}

std::size_t ConnectionLimits::sheddable(Kind kind) const {
  std::lock_guard lock(mu_);
  return (kind == Kind::kIdleHttp ? idle_http_ : unauth_ws_).size();
}

bool ConnectionLimits::try_add_unauthenticated(const std::string& ip) {
  std::lock_guard lock(mu_);
  int& n = unauth_by_ip_[ip];
  if (per_ip_ > 0 && n >= per_ip_) {
    if (n == 0) unauth_by_ip_.erase(ip);
    return false;
  }
  ++n;
  return true;
}

void ConnectionLimits::remove_unauthenticated(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto it = unauth_by_ip_.find(ip);
  if (it == unauth_by_ip_.end()) return;
  if (--it->second <= 0) unauth_by_ip_.erase(it);
}

int ConnectionLimits::unauthenticated(const std::string& ip) const {
  std::lock_guard lock(mu_);
  auto it = unauth_by_ip_.find(ip);
  return it == unauth_by_ip_.end() ? 0 : it->second;
}

}  // namespace hype::net
