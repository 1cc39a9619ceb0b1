#include "core/ids.hpp"

#include <charconv>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace hype {

namespace {
std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

SnowflakeGenerator::SnowflakeGenerator(int node_id) : node_(node_id) {
  if (node_id < 0 || node_id > 1023) throw std::invalid_argument("snowflake node id out of range");
}

Id SnowflakeGenerator::next() {
  std::lock_guard lock(mu_);
  std::int64_t ms = now_ms();
  if (ms < last_ms_) ms = last_ms_;  // clock went back: keep ids monotonic
  if (ms == last_ms_) {
    if (++seq_ > 0xFFF) {
      // 4096 ids in one millisecond: wait for the next one.
      while ((ms = now_ms()) <= last_ms_) std::this_thread::yield();
      seq_ = 0;
    }
  } else {
    seq_ = 0;
  }
  last_ms_ = ms;
  return ((ms - kEpochMs) << 22) | (static_cast<std::int64_t>(node_) << 12) | seq_;
}

std::string id_to_string(Id id) {
  return std::to_string(id);
}

std::optional<Id> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  Id v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace hype
