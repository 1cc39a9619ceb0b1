// Logging setup: spdlog, one line per event. Call sites use spdlog::info(...) directly;
// hot paths use RateLimitedLog so a flood of bad packets cannot flood the log.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace spdlog {
class formatter;
}

namespace hype {

// format: "text" (one line per event) or "json" (one JSON object per line, for log shippers).
void init_logging(const std::string& level, const std::string& format = "text");
// The formatter of log.format = "json" (tests put it on a logger of their own).
std::unique_ptr<spdlog::formatter> make_json_log_formatter();

// Allows at most `per_second` log lines per second; counts the ones it suppressed.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(int per_second = 5) : per_second_(per_second) {}
  bool allow();
  std::uint64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }

 private:
  int per_second_;
  std::atomic<std::int64_t> window_start_{0};
  std::atomic<int> count_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace hype
