// Traces: W3C trace context (traceparent) and the spans of a voice join, exported over
// OTLP/HTTP JSON by a small exporter of ours (Debian has no OpenTelemetry C++ package).
//
// - TraceContext::parse accepts a `traceparent` header/field (version 00, lower-case hex,
//   non-zero ids; anything else is ignored, never an error: a bad header just starts a new
//   trace). format() writes one.
// - Tracer::record() queues a finished span: a mutex held for a push into a bounded queue
//   (record is called per join stage, never per packet, also from SFU media threads). A full
//   queue drops the span and counts it (trace_spans_dropped_total). A thread of the tracer's
//   own posts batches to the OTLP endpoint (http://host:port/path, no TLS: a local collector)
//   with a 2 s socket deadline; a failed post drops its batch (counted), nothing retries.
// - With no endpoint configured the tracer is disabled: record() returns at once.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/metrics.hpp"

namespace hype::telemetry {

struct TraceContext {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  std::uint8_t flags = 1;  // sampled

  bool valid() const;
  std::string traceparent() const;  // "00-<32 hex>-<16 hex>-<2 hex>"
  std::string trace_id_hex() const;
  std::string span_id_hex() const;
  // nullopt for anything but a well-formed version-00 value with non-zero ids.
  static std::optional<TraceContext> parse(std::string_view traceparent);
  static TraceContext root();  // a new trace
  TraceContext child() const;  // same trace, a new span id
};

struct Span {
  TraceContext ctx;                         // this span's trace and id
  std::array<std::uint8_t, 8> parent_id{};  // zero: a root span
  std::string name;
  int kind = 1;  // OTLP SpanKind: 1 internal, 2 server
  std::int64_t start_unix_ns = 0, end_unix_ns = 0;
  std::vector<std::pair<std::string, std::string>> attributes;
  bool error = false;  // status ERROR
};

// A span for `name`, child of `parent` (a new root when parent is nullopt), started now.
Span start_span(std::string name, const std::optional<TraceContext>& parent, int kind = 1);
std::int64_t unix_ns_now();

// The OTLP/HTTP JSON body (ExportTraceServiceRequest) for these spans.
std::string otlp_json(const std::vector<Span>& spans, const std::string& service_name,
                      const std::string& node);

struct TracerOptions {
  std::string endpoint;  // e.g. http://127.0.0.1:4318/v1/traces; empty: tracing off
  std::string service_name = "hype";
  std::string node;  // service.instance.id
  std::size_t max_queue = 4096;
  std::size_t max_batch = 256;
  int flush_ms = 1000;
};

class Tracer {
 public:
  Tracer(TracerOptions options, metrics::Registry& registry);
  ~Tracer();  // flushes what is queued (one last post), then stops
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  bool enabled() const { return !opts_.endpoint.empty(); }
  void record(Span span);  // sets end time when unset; never blocks on the network

 private:
  void run();
  bool post(const std::string& body);

  TracerOptions opts_;
  std::string host_, path_;
  int port_ = 0;
  metrics::Counter& exported_;
  metrics::Counter& dropped_queue_;
  metrics::Counter& dropped_export_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Span> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hype::telemetry
