#include "core/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hype::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size()]) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()))
    throw std::invalid_argument("histogram bounds must be sorted");
  for (std::size_t i = 0; i < bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  if (it != bounds_.end()) counts_[it - bounds_.begin()].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string label_text(const std::vector<std::string>& names, const Labels& values,
                       const std::string& extra = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i)
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i], escape_label(values[i]));
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

template <typename T>
T& add_family(std::mutex& mu, std::vector<std::unique_ptr<T>>& list, std::unique_ptr<T> f) {
  std::lock_guard lock(mu);
  for (auto& existing : list)
    if (existing->name() == f->name()) return *existing;  // same name: same family
  list.push_back(std::move(f));
  return *list.back();
}

}  // namespace

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> labels) {
  return add_family(mu_, counters_,
                    std::make_unique<Family<Counter>>(name, help, std::move(labels),
                                                      [] { return std::make_unique<Counter>(); }));
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> labels) {
  return add_family(mu_, gauges_,
                    std::make_unique<Family<Gauge>>(name, help, std::move(labels),
                                                    [] { return std::make_unique<Gauge>(); }));
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<double> bounds,
                                       std::vector<std::string> labels) {
  return add_family(mu_, histograms_,
                    std::make_unique<Family<Histogram>>(name, help, std::move(labels), [bounds] {
                      return std::make_unique<Histogram>(bounds);
                    }));
}

void Registry::on_collect(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(fn));
}

std::string Registry::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();
  std::lock_guard lock(mu_);
  std::string out;
  for (auto& f : counters_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", f->name(), f->help(), f->name());
    f->for_each([&](const Labels& l, const Counter& c) {
      out += fmt::format("{}{} {}\n", f->name(), label_text(f->label_names(), l), num(c.value()));
    });
  }
  for (auto& f : gauges_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", f->name(), f->help(), f->name());
    f->for_each([&](const Labels& l, const Gauge& g) {
      out += fmt::format("{}{} {}\n", f->name(), label_text(f->label_names(), l), num(g.value()));
    });
  }
  for (auto& f : histograms_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", f->name(), f->help(), f->name());
    f->for_each([&](const Labels& l, const Histogram& h) {
      std::uint64_t cum = 0;
      for (std::size_t i = 0; i < h.bounds().size(); ++i) {
        cum += h.bucket_count(i);
        out +=
            fmt::format("{}_bucket{} {}\n", f->name(),
                        label_text(f->label_names(), l, "le=\"" + num(h.bounds()[i]) + "\""), cum);
      }
      out += fmt::format("{}_bucket{} {}\n", f->name(),
                         label_text(f->label_names(), l, "le=\"+Inf\""), h.count());
      out += fmt::format("{}_sum{} {}\n", f->name(), label_text(f->label_names(), l), num(h.sum()));
      out += fmt::format("{}_count{} {}\n", f->name(), label_text(f->label_names(), l), h.count());
    });
  }
  return out;
}

std::vector<double> default_latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace hype::metrics
