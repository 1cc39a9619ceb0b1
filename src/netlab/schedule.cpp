#include "netlab/schedule.hpp"

#include <fmt/format.h>

#include <sstream>
#include <stdexcept>

namespace hype::netlab {

DirectionSchedules parse_schedule(const std::string& text) {
  DirectionSchedules out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto fail = [&](const std::string& why) {
    return std::invalid_argument(fmt::format("netlab schedule line {}: {}", n, why));
  };
  while (std::getline(in, line)) {
    ++n;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::string at, dir, spec;
    if (!(ls >> at)) continue;
    if (!(ls >> dir)) throw fail("expected \"AT_MS up|down|both SPEC\"");
    std::getline(ls, spec);
    std::int64_t at_ms = 0;
    std::size_t used = 0;
    try {
      at_ms = std::stoll(at, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != at.size() || at_ms < 0) throw fail("bad time \"" + at + "\"");
    if (dir != "up" && dir != "down" && dir != "both")
      throw fail("direction \"" + dir + "\": expected up, down or both");
    Impairment imp;
    try {
      imp = parse_impairment(spec);
    } catch (const std::invalid_argument& e) {
      throw fail(e.what());
    }
    for (Schedule* s : {&out.up, &out.down}) {
      if ((s == &out.up && dir == "down") || (s == &out.down && dir == "up")) continue;
      if (!s->empty() && s->back().at_ms > at_ms) throw fail("times must not decrease");
      s->push_back({at_ms, imp});
    }
  }
  return out;
}

ScheduledLink::ScheduledLink(const Impairment& initial, Schedule schedule, std::uint64_t seed,
                             std::int64_t start_us)
    : link_(initial, seed), schedule_(std::move(schedule)), start_us_(start_us) {}

Verdict ScheduledLink::decide(std::int64_t now_us, std::size_t bytes) {
  while (next_ < schedule_.size() && now_us - start_us_ >= schedule_[next_].at_ms * 1000) {
    link_.set_impairment(schedule_[next_].impairment);
    ++next_;
  }
  return link_.decide(now_us, bytes);
}

}  // namespace hype::netlab
