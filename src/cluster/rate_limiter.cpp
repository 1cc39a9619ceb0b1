#include "cluster/rate_limiter.hpp"

#include <algorithm>

namespace hype::cluster {

RateDecision RateLimiter::take(const std::string& key, const RateBudget& budget, double cost,
                               double now_s) {
  std::lock_guard lock(mu_);
  if (buckets_.size() >= max_keys_) sweep(now_s);
  auto [it, inserted] =
      buckets_.try_emplace(key, Bucket{budget.tokens, now_s, budget.rate(), budget.tokens});
  Bucket& b = it->second;
  if (!inserted) {
    b.tokens = std::min(budget.tokens, b.tokens + (now_s - b.updated_s) * budget.rate());
    b.updated_s = now_s;
    b.rate = budget.rate();
    b.burst = budget.tokens;
  }
  if (b.tokens >= cost) {
    b.tokens -= cost;
    return {true, 0};
  }
  return {false, (cost - b.tokens) / budget.rate()};
}

RateDecision RateLimiter::peek(const std::string& key, const RateBudget& budget, double cost,
                               double now_s) const {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  double tokens = budget.tokens;
  if (it != buckets_.end())
    tokens =
        std::min(budget.tokens, it->second.tokens + (now_s - it->second.updated_s) * budget.rate());
  if (tokens >= cost) return {true, 0};
  return {false, (cost - tokens) / budget.rate()};
}

void RateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  buckets_.erase(key);
}

void RateLimiter::sweep(double now_s) {
  // A bucket that has refilled completely carries no information: drop it.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const Bucket& b = it->second;
    if (b.tokens + (now_s - b.updated_s) * b.rate >= b.burst)
      it = buckets_.erase(it);
    else
      ++it;
  }
  // Still full: a flood of keys that are all busy. Forget the lot rather than grow.
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace hype::cluster
