// Registers the SFU's counters on /metrics from the one table in counters.hpp (kSfuMetrics):
// a loop over its rows, so a counter added there shows up here without another line.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/metrics.hpp"
#include "sfu/sfu_service.hpp"

namespace hype::sfu {

// `stats` is called at each render (from the scraping thread) and must be cheap to call
// from any thread, as SfuService::stats() is. Also registers the node-level gauges:
// sfu_node_cpu_ratio (the workers' CPU over about the last 5 s, per worker, 0..1),
// sfu_node_memory_bytes (the process's resident memory) and sfu_node_health (returned gauge:
// the role sets 1 while it serves, 0 when it stops or drains).
metrics::Gauge& register_sfu_metrics(metrics::Registry& reg, std::function<SfuStats()> stats);

// CPU ratio over a sliding window from cumulative CPU readings: feed (now, total CPU ns,
// workers) at each scrape; the ratio spans from the newest sample at least `window` old (or
// the first sample) to now. Pure, for tests.
class CpuWindow {
 public:
  explicit CpuWindow(std::int64_t window_ns = 5'000'000'000) : window_ns_(window_ns) {}
  double update(std::int64_t now_ns, std::uint64_t cpu_ns, std::size_t workers);

 private:
  struct Sample {
    std::int64_t at;
    std::uint64_t cpu;
  };
  std::int64_t window_ns_;
  std::vector<Sample> samples_;
};

}  // namespace hype::sfu
