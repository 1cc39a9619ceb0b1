// What a counter costs where it is bumped (a worker thread, once or more per packet) and what
// a /metrics scrape of ~50 series costs: ours against prometheus-cpp's core, the candidate
// named in issue 12. Threads(2): each thread bumps its own counter (the SFU's one block per
// worker) or all share one (a naive node-wide counter).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <atomic>
#include <string>

#include "core/metrics.hpp"
#include "sfu/counters.hpp"

#ifdef HYPE_BENCH_PROMETHEUS_CPP
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#endif

using namespace hype;

namespace {

constexpr int kMaxThreads = 8;
// One cache line per thread so the per-thread cases measure the operation, not false sharing.
struct alignas(64) PaddedCounters {
  sfu::SfuCounters sfu;
};
PaddedCounters g_sfu[kMaxThreads];
sfu::SfuCounters g_sfu_shared;

// What the SFU does: a relaxed load and store on the owner thread's block.
void BM_Ours_SfuBump(benchmark::State& state) {
  auto& c = g_sfu[state.thread_index()].sfu.forwarded_packets;
  for (auto _ : state) sfu::bump(c);
  benchmark::DoNotOptimize(c.load(std::memory_order_relaxed));
}
BENCHMARK(BM_Ours_SfuBump)->Threads(1)->Threads(2);

// A relaxed fetch_add on one counter shared by every thread (a single node-wide atomic).
void BM_Ours_SharedFetchAdd(benchmark::State& state) {
  auto& c = g_sfu_shared.forwarded_packets;
  for (auto _ : state) c.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_Ours_SharedFetchAdd)->Threads(1)->Threads(2);

metrics::Registry& ours_hot_registry() {
  static metrics::Registry reg;
  return reg;
}

// metrics::Counter::inc: a CAS loop on atomic<double> (what the API and gateway use).
void BM_Ours_CounterInc(benchmark::State& state) {
  auto& c = ours_hot_registry()
                .counter("bench_ours_total", "bench", {"worker"})
                .with({std::to_string(state.thread_index())});
  for (auto _ : state) c.inc();
}
BENCHMARK(BM_Ours_CounterInc)->Threads(1)->Threads(2);

void BM_Ours_CounterIncShared(benchmark::State& state) {
  auto& c = ours_hot_registry().counter("bench_ours_shared_total", "bench").get();
  for (auto _ : state) c.inc();
}
BENCHMARK(BM_Ours_CounterIncShared)->Threads(1)->Threads(2);

// ~50 series: 5 counter families of 8 label sets, 10 gauges (the shape of a node's scrape).
void fill_ours(metrics::Registry& reg) {
  for (int f = 0; f < 5; ++f) {
    auto& fam = reg.counter(fmt::format("bench_family_{}_total", f), "a benchmark family",
                            {"route", "status"});
    for (int s = 0; s < 8; ++s)
      fam.with({fmt::format("/api/v1/route/{}", s), s % 2 ? "200" : "404"}).inc(1234567 + s);
  }
  for (int g = 0; g < 10; ++g)
    reg.gauge(fmt::format("bench_gauge_{}", g), "a benchmark gauge").get().set(42.5 + g);
}

void BM_Ours_Render50(benchmark::State& state) {
  metrics::Registry reg;
  fill_ours(reg);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = reg.render();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Ours_Render50);

#ifdef HYPE_BENCH_PROMETHEUS_CPP

prometheus::Registry& prom_hot_registry() {
  static prometheus::Registry reg;
  return reg;
}

void BM_PromCpp_CounterIncrement(benchmark::State& state) {
  static auto& fam = prometheus::BuildCounter()
                         .Name("bench_prom_total")
                         .Help("bench")
                         .Register(prom_hot_registry());
  auto& c = fam.Add({{"worker", std::to_string(state.thread_index())}});
  for (auto _ : state) c.Increment();
}
BENCHMARK(BM_PromCpp_CounterIncrement)->Threads(1)->Threads(2);

void BM_PromCpp_CounterIncrementShared(benchmark::State& state) {
  static auto& c = prometheus::BuildCounter()
                       .Name("bench_prom_shared_total")
                       .Help("bench")
                       .Register(prom_hot_registry())
                       .Add({});
  for (auto _ : state) c.Increment();
}
BENCHMARK(BM_PromCpp_CounterIncrementShared)->Threads(1)->Threads(2);

void BM_PromCpp_Render50(benchmark::State& state) {
  prometheus::Registry reg;
  for (int f = 0; f < 5; ++f) {
    auto& fam = prometheus::BuildCounter()
                    .Name(fmt::format("bench_family_{}_total", f))
                    .Help("a benchmark family")
                    .Register(reg);
    for (int s = 0; s < 8; ++s)
      fam.Add({{"route", fmt::format("/api/v1/route/{}", s)}, {"status", s % 2 ? "200" : "404"}})
          .Increment(1234567 + s);
  }
  for (int g = 0; g < 10; ++g)
    prometheus::BuildGauge()
        .Name(fmt::format("bench_gauge_{}", g))
        .Help("a benchmark gauge")
        .Register(reg)
        .Add({})
        .Set(42.5 + g);
  prometheus::TextSerializer serializer;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = serializer.Serialize(reg.Collect());
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PromCpp_Render50);

#endif

}  // namespace
