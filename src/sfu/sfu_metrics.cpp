#include "sfu/sfu_metrics.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hype::sfu {

namespace {

// One table row bound to its registered instrument.
struct Bound {
  const SfuMetric* row;
  metrics::Gauge* gauge = nullptr;
  metrics::Counter* counter = nullptr;
  metrics::Family<metrics::Counter>* per_worker = nullptr;
};

// "key=value" -> {key, value}; "" -> {}.
std::pair<std::string, std::string> split_label(std::string_view label) {
  auto eq = label.find('=');
  if (eq == std::string_view::npos) return {std::string(label), {}};
  return {std::string(label.substr(0, eq)), std::string(label.substr(eq + 1))};
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

double CpuWindow::update(std::int64_t now_ns, std::uint64_t cpu_ns, std::size_t workers) {
  samples_.push_back({now_ns, cpu_ns});
  // Keep one sample at least a window old (the base) and the ones after it.
  std::size_t base = 0;
  for (std::size_t i = 0; i + 1 < samples_.size(); ++i)
    if (now_ns - samples_[i].at >= window_ns_) base = i;
  samples_.erase(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(base));
  const Sample& from = samples_.front();
  if (workers == 0 || now_ns <= from.at || cpu_ns < from.cpu) return 0;
  double ratio = static_cast<double>(cpu_ns - from.cpu) / static_cast<double>(now_ns - from.at) /
                 static_cast<double>(workers);
  return std::min(ratio, 1.0);
}

metrics::Gauge& register_sfu_metrics(metrics::Registry& reg, std::function<SfuStats()> stats) {
  auto bound = std::make_shared<std::vector<Bound>>();
  for (const SfuMetric& m : kSfuMetrics) {
    Bound b{&m};
    std::string name(m.name), help(m.help);
    auto [key, value] = split_label(m.label);
    std::vector<std::string> keys;
    if (!key.empty()) keys.push_back(key);
    metrics::Labels values;
    if (!value.empty()) values.push_back(value);
    switch (m.kind) {
      case SfuMetricKind::gauge:
        b.gauge = &reg.gauge(name, help, keys).with(values);
        break;
      case SfuMetricKind::counter:
        b.counter = &reg.counter(name, help, keys).with(values);
        break;
      case SfuMetricKind::worker_ns:
        b.per_worker = &reg.counter(name, help, keys);
        break;
    }
    bound->push_back(b);
  }
  auto& cpu_ratio = reg.gauge("sfu_node_cpu_ratio",
                              "seed: sfu_node_cpu. CPU time of this node's SFU workers over about "
                              "the last 5 s, divided by the number of workers (0..1)")
                        .get();
  auto& memory = reg.gauge("sfu_node_memory_bytes",
                           "seed: sfu_node_memory. Resident memory of the SFU node's process")
                     .get();
  auto& health =
      reg.gauge("sfu_node_health",
                "seed: sfu_node_health. 1 while this SFU node serves, 0 when it stops or "
                "drains")
          .get();
  struct CpuState {
    std::mutex mu;
    CpuWindow window;
    std::int64_t start_ns = now_ns();
    bool started = false;
  };
  auto cpu = std::make_shared<CpuState>();
  reg.on_collect([bound, cpu, &cpu_ratio, &memory, stats = std::move(stats)] {
    SfuStats st = stats();
    {
      std::uint64_t total = 0;
      for (const auto& w : st.per_worker) total += w.cpu_ns;
      std::lock_guard lock(cpu->mu);
      if (!cpu->started) {  // the workers started with no CPU used
        cpu->started = true;
        cpu->window.update(cpu->start_ns, 0, st.per_worker.size());
      }
      cpu_ratio.set(cpu->window.update(now_ns(), total, st.per_worker.size()));
    }
    memory.set(static_cast<double>(resident_bytes()));
    for (const Bound& b : *bound) {
      auto field = b.row->field;
      if (b.gauge) b.gauge->set(static_cast<double>(st.*field));
      if (b.counter) b.counter->set_total(static_cast<double>(st.*field));
      if (b.per_worker)
        for (std::size_t i = 0; i < st.per_worker.size(); ++i)
          b.per_worker->with({std::to_string(i)})
              .set_total(static_cast<double>(st.per_worker[i].*field) / 1e9);
    }
  });
  return health;
}

}  // namespace hype::sfu
