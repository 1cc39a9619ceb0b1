#include <gtest/gtest.h>

#include "auth/login_throttle.hpp"
#include "core/errors.hpp"

using namespace hype;
using namespace hype::auth;

namespace {
// Budgets that refill far slower than a test runs: only the counting matters here.
LoginBudgets budgets() {
  return {true, RateBudget{3, 3000}, RateBudget{5, 50000}};
}
int status_of(LoginThrottle& t, const char* name, const std::string& addr) {
  try {
    t.before(name, addr);
  } catch (const ApiError& e) {
    EXPECT_GE(e.retry_after(), 1);
    return e.status();
  }
  return 0;
}
}  // namespace

TEST(LoginThrottle, PerAccountAndAddressFailureBudget) {
  auto coord = cluster::make_local_coordinator();
  LoginThrottle t(*coord, budgets());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(status_of(t, "bob", "10.0.0.1"), 0);
    t.failed("bob", "10.0.0.1");
  }
  EXPECT_EQ(status_of(t, "bob", "10.0.0.1"), 429);
  EXPECT_EQ(status_of(t, "BOB", "10.0.0.1"), 429) << "usernames are case-insensitive";
  EXPECT_EQ(status_of(t, "bob", "10.0.0.2"), 0) << "another address still may";
  EXPECT_EQ(status_of(t, "alice", "10.0.0.1"), 0) << "another account still may";
  t.succeeded("bob", "10.0.0.1");
  EXPECT_EQ(status_of(t, "bob", "10.0.0.1"), 0) << "a correct password forgets the failures";
}

TEST(LoginThrottle, SpentAccountBudgetStopsManyAddressesButNotTheOwner) {
  auto coord = cluster::make_local_coordinator();
  LoginThrottle t(*coord, budgets());
  t.succeeded("bob", "198.51.100.7");  // the owner signed in from home earlier
  // A distributed guesser: one attempt from each of 40 addresses.
  int checked = 0;
  for (int i = 0; i < 40; ++i) {
    std::string addr = "203.0.113." + std::to_string(i);
    if (status_of(t, "bob", addr) == 0) {
      ++checked;
      t.failed("bob", addr);
    }
  }
  EXPECT_EQ(checked, 5) << "the account budget bounds guesses from all addresses together";
  // The owner, from the address they signed in from before, is still checked.
  EXPECT_EQ(status_of(t, "bob", "198.51.100.7"), 0);
  // An address that failed on bob is not "known" however it tries.
  EXPECT_EQ(status_of(t, "bob", "203.0.113.1"), 429);
  // Other accounts are not affected.
  EXPECT_EQ(status_of(t, "carol", "203.0.113.1"), 0);
  // A known address that keeps failing runs out of its own pair budget.
  for (int i = 0; i < 3; ++i) t.failed("bob", "198.51.100.7");
  EXPECT_EQ(status_of(t, "bob", "198.51.100.7"), 429);
}

TEST(LoginThrottle, DisabledNeverRefuses) {
  auto coord = cluster::make_local_coordinator();
  auto b = budgets();
  b.enabled = false;
  LoginThrottle t(*coord, b);
  for (int i = 0; i < 10; ++i) t.failed("bob", "10.0.0.1");
  EXPECT_EQ(status_of(t, "bob", "10.0.0.1"), 0);
}
