#include <gtest/gtest.h>

#include "core/metrics.hpp"

using namespace hype::metrics;

TEST(Metrics, RendersPrometheusText) {
  Registry r;
  auto& req = r.counter("http_requests_total", "HTTP requests", {"route", "status"});
  req.with({"/api/v1/guilds", "200"}).inc();
  req.with({"/api/v1/guilds", "200"}).inc(2);
  r.gauge("gateway_connections", "open gateway connections").get().set(7);
  auto& h = r.histogram("http_request_duration_seconds", "latency", {0.01, 0.1}, {"route"});
  h.with({"x\"y"}).observe(0.005);
  h.with({"x\"y"}).observe(0.05);
  h.with({"x\"y"}).observe(3);
  std::string text = r.render();
  EXPECT_NE(text.find("# TYPE http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("http_requests_total{route=\"/api/v1/guilds\",status=\"200\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("gateway_connections 7"), std::string::npos);
  EXPECT_NE(text.find("http_request_duration_seconds_bucket{route=\"x\\\"y\",le=\"0.01\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("http_request_duration_seconds_bucket{route=\"x\\\"y\",le=\"0.1\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("http_request_duration_seconds_bucket{route=\"x\\\"y\",le=\"+Inf\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("http_request_duration_seconds_count{route=\"x\\\"y\"} 3"),
            std::string::npos);
}

TEST(Metrics, MirroredCounterKeepsCounterType) {
  Registry r;
  r.counter("worker_packets_total", "mirrored").get().set_total(42);
  std::string text = r.render();
  EXPECT_NE(text.find("# TYPE worker_packets_total counter"), std::string::npos);
  EXPECT_NE(text.find("worker_packets_total 42"), std::string::npos);
}

TEST(Metrics, SameNameReturnsSameFamily) {
  Registry r;
  auto& a = r.counter("c", "h");
  auto& b = r.counter("c", "h");
  EXPECT_EQ(&a, &b);
}
