// netlab schedules: a list of (at_ms, Impairment) steps that switch a Link's profile as time
// passes, and the text form hype-netlab reads from --schedule files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netlab/impairment.hpp"

namespace hype::netlab {

struct ScheduleStep {
  std::int64_t at_ms = 0;  // from the schedule's start
  Impairment impairment;
};
using Schedule = std::vector<ScheduleStep>;  // at_ms not decreasing

struct DirectionSchedules {
  Schedule up;    // client -> server
  Schedule down;  // server -> client
};

// One step per line: "AT_MS up|down|both SPEC" (SPEC as parse_impairment), '#' comments and
// blank lines ignored; times must not decrease per direction. Throws std::invalid_argument
// with the line number.
DirectionSchedules parse_schedule(const std::string& text);

// A Link whose profile follows a schedule: before the first step (or with none) it uses the
// initial impairment; the step at_ms applies to packets arriving at start + at_ms or later.
class ScheduledLink {
 public:
  ScheduledLink(const Impairment& initial, Schedule schedule, std::uint64_t seed,
                std::int64_t start_us);
  Verdict decide(std::int64_t now_us, std::size_t bytes);
  const Impairment& impairment() const { return link_.impairment(); }
  std::size_t steps_applied() const { return next_; }

 private:
  Link link_;
  Schedule schedule_;
  std::size_t next_ = 0;
  std::int64_t start_us_;
};

}  // namespace hype::netlab
