// Snowflake ids: 64-bit, time ordered, unique across nodes. Layout (high to low):
// 1 sign bit (0) | 41 bits milliseconds since kEpochMs | 10 bits node | 12 bits sequence.
// Ids travel as decimal strings in JSON (JavaScript numbers lose precision past 2^53).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace hype {

using Id = std::int64_t;

class SnowflakeGenerator {
 public:
  static constexpr std::int64_t kEpochMs = 1767225600000;  // 2026-01-01T00:00:00Z
  explicit SnowflakeGenerator(int node_id = 0);

  Id next();
  static std::int64_t timestamp_ms(Id id) { return (id >> 22) + kEpochMs; }
  static int node_of(Id id) { return static_cast<int>((id >> 12) & 0x3FF); }
  // Smallest id that could have been made at unix time ms: a cursor for time ranges.
  static Id min_for_time(std::int64_t unix_ms) { return (unix_ms - kEpochMs) << 22; }

 private:
  std::mutex mu_;
  int node_;
  std::int64_t last_ms_ = 0;
  int seq_ = 0;
};

std::string id_to_string(Id id);
// Parses a positive decimal id; nullopt for anything else (signs, spaces, overflow, empty).
std::optional<Id> parse_id(std::string_view s);

}  // namespace hype
