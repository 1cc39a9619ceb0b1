#include "sfu/sfu_metrics.hpp"

#include <memory>
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

}  // namespace

void register_sfu_metrics(metrics::Registry& reg, std::function<SfuStats()> stats) {
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
  reg.on_collect([bound, stats = std::move(stats)] {
    SfuStats st = stats();
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
}

}  // namespace hype::sfu
