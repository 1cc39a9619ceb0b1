// An EventLog that also feeds the voice metrics its events carry, then hands each event to the
// real log: voice_session_duration_seconds from every leave's duration. Observed whether or not
// the inner append succeeds (the session happened either way).
#pragma once

#include <memory>

#include "cluster/event_log.hpp"
#include "core/metrics.hpp"

namespace hype::voice {

std::unique_ptr<cluster::EventLog> make_metered_event_log(std::unique_ptr<cluster::EventLog> inner,
                                                          metrics::Registry& registry);

// The buckets of voice_session_duration_seconds: 10 s .. 8 h.
std::vector<double> session_duration_buckets();

}  // namespace hype::voice
