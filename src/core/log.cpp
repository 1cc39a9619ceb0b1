#include "core/log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <stdexcept>

#include "core/clock.hpp"
#include "core/utf8.hpp"

namespace hype {

namespace {

// One JSON object per line: {"ts":"2026-12-05T12:00:00.123Z","level":"info","logger":"hype",
// "thread":123,"msg":"..."}. The message is escaped; bytes of a message that is not valid UTF-8
// become '?', so every line is valid JSON whatever a log call was given.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto t = std::chrono::system_clock::to_time_t(msg.time);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    std::size_t n = std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    auto level_sv = spdlog::level::to_string_view(msg.level);
    std::string_view level(level_sv.data(), level_sv.size());
    fmt::format_to(std::back_inserter(dest),
                   R"({{"ts":"{}.{:03}Z","level":"{}","logger":"{}","thread":{},"msg":")",
                   std::string_view(ts, n), ms, level,
                   std::string_view(msg.logger_name.data(), msg.logger_name.size()), msg.thread_id);
    std::string_view text(msg.payload.data(), msg.payload.size());
    const bool utf8 = is_valid_utf8(text);
    for (char c : text) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        fmt::format_to(std::back_inserter(dest), "\\u{:04x}", u);
      } else if (u >= 0x80 && !utf8) {
        dest.push_back('?');
      } else {
        dest.push_back(c);
      }
    }
    dest.append(std::string_view("\"}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_log_formatter() {
  return std::make_unique<JsonFormatter>();
}

void init_logging(const std::string& level, const std::string& format) {
  if (format != "text" && format != "json")
    throw std::invalid_argument("log.format must be \"text\" or \"json\", got \"" + format + "\"");
  auto logger = spdlog::stderr_color_mt("hype");
  if (format == "json")
    logger->set_formatter(std::make_unique<JsonFormatter>());
  else
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
