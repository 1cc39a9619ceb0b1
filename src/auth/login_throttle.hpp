// Slows password guessing without handing an attacker a way to lock the owner out.
//
// Budgets count failed logins only (a correct password costs nothing) and are checked before
// the password is:
//   - per (account, address), limits.login_pair (5 per 15 min): one address hammering one
//     account is stopped early, other addresses are not affected;
//   - per account, limits.login_account (10 per hour), from every address together: what a
//     distributed guesser with any number of addresses gets, in total.
// While the account budget is spent, the password is still checked for an address that
// signed in to this account successfully within the refresh-token lifetime (auth.refresh_ttl)
// and has pair budget left: the owner at home or at work gets in with the right password. And
// refresh tokens never pass through here (auth/refresh has its own per-address budget), so
// devices already signed in keep working throughout. What is refused answers 429
// rate_limited with Retry-After.
// The price: during an attack, the owner on a network they never signed in from must wait
// for the account budget to refill (one attempt every 6 min by default), competing with the
// attacker. Letting any address without failures through instead would give a guesser one
// free guess per address, which is what a botnet has plenty of.
// The per-address attempt budget (limits.auth) stays in front of all this and bounds Argon2
// work per address whatever the outcome.
#pragma once

#include <string>
#include <string_view>

#include "cluster/coordinator.hpp"
#include "core/config.hpp"

namespace hype::auth {

struct LoginBudgets {
  bool enabled = true;
  RateBudget pair{5, 900};
  RateBudget account{10, 3600};
  double known_for_s = 30 * 86400;  // a successful sign-in makes its address known this long
};

class LoginThrottle {
 public:
  LoginThrottle(cluster::Coordinator& coord, LoginBudgets budgets) : coord_(coord), b_(budgets) {}

  // Before the password is checked: throws ApiError 429 with Retry-After when `address` may
  // not try `username` now.
  void before(std::string_view username, std::string_view address);
  void failed(std::string_view username, std::string_view address);
  void succeeded(std::string_view username, std::string_view address);

 private:
  struct Keys {
    std::string pair, account, known;
  };
  static Keys keys(std::string_view username, std::string_view address);
  // A "known" mark is a one-token bucket emptied on success: it stays empty (marked) until it
  // refills after known_for_s, and needs nothing the rate-limit store does not already offer.
  RateBudget known_budget() const { return {1, b_.known_for_s}; }

  cluster::Coordinator& coord_;
  LoginBudgets b_;
};

}  // namespace hype::auth
