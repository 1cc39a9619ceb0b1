#include "auth/login_throttle.hpp"

#include <algorithm>
#include <cmath>

#include "core/errors.hpp"

namespace hype::auth {

namespace {
// Longer names belong to no account (login refuses them before any lookup); keeping them out
// of the keys keeps a key's size bounded.
constexpr std::size_t kMaxName = 64;

ApiError refused(double retry_after_s) {
  int secs = std::max(1, static_cast<int>(std::ceil(retry_after_s)));
  return ApiError(429, "rate_limited", "too many failed logins; try again later")
      .with_retry_after(secs);
}
}  // namespace

LoginThrottle::Keys LoginThrottle::keys(std::string_view username, std::string_view address) {
  // Usernames are unique ignoring ASCII case (they are ASCII), so is the account key.
  std::string name(username);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string at = name + '|' + std::string(address);
  return {"login_pair:" + at, "login_account:" + name, "login_known:" + at};
}

void LoginThrottle::before(std::string_view username, std::string_view address) {
  if (!b_.enabled || username.size() > kMaxName) return;
  Keys k = keys(username, address);
  if (auto pair = coord_.peek(k.pair, b_.pair); !pair.allowed) throw refused(pair.retry_after_s);
  auto account = coord_.peek(k.account, b_.account);
  if (account.allowed) return;
  bool known = !coord_.peek(k.known, known_budget()).allowed;
  if (!known) throw refused(account.retry_after_s);
}

void LoginThrottle::failed(std::string_view username, std::string_view address) {
  if (!b_.enabled || username.size() > kMaxName) return;
  Keys k = keys(username, address);
  coord_.take(k.pair, b_.pair);
  coord_.take(k.account, b_.account);
}

void LoginThrottle::succeeded(std::string_view username, std::string_view address) {
  if (!b_.enabled || username.size() > kMaxName) return;
  Keys k = keys(username, address);
  coord_.forget(k.pair);
  coord_.forget(k.known);
  coord_.take(k.known, known_budget());
}

}  // namespace hype::auth
