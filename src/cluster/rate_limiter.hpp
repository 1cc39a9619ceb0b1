// Token buckets in memory, keyed by string. Old idle buckets are swept so a flood of distinct
// keys (addresses) cannot grow memory without bound.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "cluster/coordinator.hpp"

namespace hype::cluster {

class RateLimiter {
 public:
  explicit RateLimiter(std::size_t max_keys = 100000) : max_keys_(max_keys) {}
  RateDecision take(const std::string& key, const RateBudget& budget, double cost, double now_s);
  // What take would answer, without taking anything or creating the bucket.
  RateDecision peek(const std::string& key, const RateBudget& budget, double cost,
                    double now_s) const;
  void forget(const std::string& key);  // the bucket is full again
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens;
    double updated_s;
    double rate;
    double burst;
  };
  void sweep(double now_s);
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::size_t max_keys_;
};

}  // namespace hype::cluster
