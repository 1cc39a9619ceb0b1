// The SFU's metric table (counters.hpp) and its registration: every row reaches /metrics
// with its value, and the table keeps Prometheus conventions so promtool stays clean.
#include "sfu/sfu_metrics.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>

namespace hype::sfu {
namespace {

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

TEST(SfuMetricTable, FollowsPrometheusConventions) {
  const std::regex name_re("[a-z_][a-z0-9_]*");
  std::set<std::pair<std::string_view, std::string_view>> seen;
  std::map<std::string_view, const SfuMetric*> family;
  for (const SfuMetric& m : kSfuMetrics) {
    SCOPED_TRACE(std::string(m.name));
    EXPECT_TRUE(std::regex_match(std::string(m.name), name_re));
    EXPECT_TRUE(seen.insert({m.name, m.label}).second) << "duplicate series " << m.label;
    EXPECT_FALSE(m.help.empty());
    if (m.kind == SfuMetricKind::gauge)
      EXPECT_FALSE(ends_with(m.name, "_total"));
    else
      EXPECT_TRUE(ends_with(m.name, "_total"));
    if (m.kind == SfuMetricKind::worker_ns) {
      EXPECT_TRUE(ends_with(m.name, "_seconds_total"));  // shown in base units
      EXPECT_EQ(m.label.find('='), std::string_view::npos) << "worker_ns takes a label key";
    }
    // Rows of one family agree on what the family is.
    auto [it, fresh] = family.emplace(m.name, &m);
    if (!fresh) {
      const SfuMetric& first = *it->second;
      EXPECT_EQ(first.kind, m.kind);
      EXPECT_EQ(first.help, m.help);
      EXPECT_EQ(first.label.substr(0, first.label.find('=')), m.label.substr(0, m.label.find('=')));
      EXPECT_NE(m.label.find('='), std::string_view::npos) << "a shared name needs label values";
    }
  }
  // One row per field: the table is generated from the same list as the structs.
  EXPECT_EQ(sizeof(SfuCounterValues), std::size(kSfuMetrics) * sizeof(std::uint64_t));
}

TEST(SfuMetricTable, RegistersEveryRowWithItsValue) {
  metrics::Registry reg;
  SfuStats st;
  std::uint64_t next = 1;
  for (const SfuMetric& m : kSfuMetrics) st.*m.field = next++;
  SfuCounterValues w0, w1;
  w0.cpu_ns = 1'500'000'000;
  w1.cpu_ns = 250'000'000;
  st.per_worker = {w0, w1};
  register_sfu_metrics(reg, [&] { return st; });
  const std::string text = reg.render();

  next = 1;
  for (const SfuMetric& m : kSfuMetrics) {
    std::uint64_t v = next++;
    if (m.kind == SfuMetricKind::worker_ns) continue;
    std::string labels;
    if (!m.label.empty()) {
      auto eq = m.label.find('=');
      labels = fmt::format("{{{}=\"{}\"}}", m.label.substr(0, eq), m.label.substr(eq + 1));
    }
    EXPECT_NE(text.find(fmt::format("\n{}{} {}\n", m.name, labels, v)), std::string::npos)
        << m.name << labels << " missing in\n"
        << text;
  }
  EXPECT_NE(text.find("\nsfu_worker_cpu_seconds_total{worker=\"0\"} 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("\nsfu_worker_cpu_seconds_total{worker=\"1\"} 0.25\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sfu_node_connections gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sfu_forwarded_packets_total counter\n"), std::string::npos);
  // A family shared by several rows is declared once.
  auto first = text.find("# HELP sfu_dropped_packets_total");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(text.find("# HELP sfu_dropped_packets_total", first + 1), std::string::npos);

  // Values are read again at each render.
  st.forwarded_packets = 123456;
  EXPECT_NE(reg.render().find("\nsfu_forwarded_packets_total 123456\n"), std::string::npos);
  // The node-level gauges are there too.
  EXPECT_NE(text.find("# TYPE sfu_node_cpu_ratio gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sfu_node_memory_bytes gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE voice_join_funnel_total counter\n"), std::string::npos);
}

constexpr std::int64_t kS = 1'000'000'000;

TEST(CpuWindow, RatioOverTheLastWindowPerWorker) {
  CpuWindow w(5 * kS);
  EXPECT_DOUBLE_EQ(w.update(0, 0, 2), 0);
  // 2 s of one busy core on a 2-worker node: half the node.
  EXPECT_DOUBLE_EQ(w.update(2 * kS, 2 * kS, 2), 0.5);
  // Still within the first window: measured from t=0.
  EXPECT_DOUBLE_EQ(w.update(4 * kS, 4 * kS, 2), 0.5);
  // From t=7 on the base is the newest sample at least 5 s old (t=2): idle since t=4.
  EXPECT_NEAR(w.update(7 * kS, 4 * kS, 2), (4.0 - 2.0) / 5 / 2, 1e-12);
  // Long idle: the window forgets the busy past.
  EXPECT_DOUBLE_EQ(w.update(20 * kS, 4 * kS, 2), 0);
}

TEST(CpuWindow, NeverAboveOneAndSafeWithoutWorkers) {
  CpuWindow w(5 * kS);
  w.update(0, 0, 1);
  EXPECT_DOUBLE_EQ(w.update(kS, 3 * kS, 1), 1.0);  // clock skew between readings
  EXPECT_DOUBLE_EQ(w.update(2 * kS, 3 * kS, 0), 0.0);
}

}  // namespace
}  // namespace hype::sfu
