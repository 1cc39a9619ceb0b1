#include "core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace hype {

void init_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("hype");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

bool RateLimitedLog::allow() {
  std::int64_t now = steady_ms() / 1000;
  std::int64_t start = window_start_.load(std::memory_order_relaxed);
  if (now != start && window_start_.compare_exchange_strong(start, now)) count_.store(0);
  if (count_.fetch_add(1, std::memory_order_relaxed) < per_second_) return true;
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace hype
