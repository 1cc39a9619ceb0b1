// Wall-clock and monotonic time helpers, in one place so tests and code agree on units.
#pragma once

#include <cstdint>

namespace hype {

std::int64_t unix_ms();       // wall clock, milliseconds since 1970
std::int64_t unix_seconds();  // wall clock, seconds since 1970
std::int64_t steady_ms();     // monotonic, for timeouts and rate limits
std::int64_t steady_us();
// RFC 3339 UTC with milliseconds, e.g. 2026-11-24T18:31:23.123Z
const char* format_iso8601(std::int64_t unix_ms, char (&buf)[64]);

}  // namespace hype
