// Registers the SFU's counters on /metrics from the one table in counters.hpp (kSfuMetrics):
// a loop over its rows, so a counter added there shows up here without another line.
#pragma once

#include <functional>

#include "core/metrics.hpp"
#include "sfu/sfu_service.hpp"

namespace hype::sfu {

// `stats` is called at each render (from the scraping thread) and must be cheap to call
// from any thread, as SfuService::stats() is.
void register_sfu_metrics(metrics::Registry& reg, std::function<SfuStats()> stats);

}  // namespace hype::sfu
