#include "telemetry/trace.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>

#include "core/log.hpp"
#include "core/random.hpp"
#include "core/threads.hpp"

namespace hype::telemetry {

namespace json = boost::json;

namespace {

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

bool parse_hex(std::string_view s, std::uint8_t* out, std::size_t n) {
  if (s.size() != 2 * n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

void random_span_id(std::array<std::uint8_t, 8>& id) {
  do random_bytes(id.data(), id.size());
  while (all_zero(id));
}

json::object string_attr(const std::string& key, const std::string& value) {
  return {{"key", key}, {"value", json::object{{"stringValue", value}}}};
}

// "http://host:port/path" (port defaults to 80, path to /v1/traces).
bool parse_endpoint(const std::string& url, std::string& host, int& port, std::string& path) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return false;
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  path = slash == std::string::npos ? "/v1/traces" : rest.substr(slash);
  auto colon = authority.rfind(':');
  host = authority.substr(0, colon);
  port = 80;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(authority.substr(colon + 1));
    } catch (const std::exception&) {
      return false;
    }
  }
  return !host.empty() && port > 0 && port < 65536;
}

}  // namespace

bool TraceContext::valid() const {
  return !all_zero(trace_id) && !all_zero(span_id);
}

std::string TraceContext::trace_id_hex() const {
  return hex_encode(trace_id.data(), trace_id.size());
}

std::string TraceContext::span_id_hex() const {
  return hex_encode(span_id.data(), span_id.size());
}

std::string TraceContext::traceparent() const {
  return "00-" + trace_id_hex() + "-" + span_id_hex() + "-" + hex_encode(&flags, 1);
}

std::optional<TraceContext> TraceContext::parse(std::string_view s) {
  // version(2) - trace-id(32) - parent-id(16) - flags(2)
  if (s.size() != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-') return std::nullopt;
  if (s.substr(0, 2) != "00") return std::nullopt;
  TraceContext c;
  if (!parse_hex(s.substr(3, 32), c.trace_id.data(), 16) ||
      !parse_hex(s.substr(36, 16), c.span_id.data(), 8) || !parse_hex(s.substr(53, 2), &c.flags, 1))
    return std::nullopt;
  if (!c.valid()) return std::nullopt;
  return c;
}

TraceContext TraceContext::root() {
  TraceContext c;
  do random_bytes(c.trace_id.data(), c.trace_id.size());
  while (all_zero(c.trace_id));
  random_span_id(c.span_id);
  return c;
}

TraceContext TraceContext::child() const {
  TraceContext c = *this;
  random_span_id(c.span_id);
  return c;
}

std::int64_t unix_ns_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Span start_span(std::string name, const std::optional<TraceContext>& parent, int kind) {
  Span s;
  s.name = std::move(name);
  s.kind = kind;
  if (parent && parent->valid()) {
    s.ctx = parent->child();
    s.parent_id = parent->span_id;
  } else {
    s.ctx = TraceContext::root();
  }
  s.start_unix_ns = unix_ns_now();
  return s;
}

std::string otlp_json(const std::vector<Span>& spans, const std::string& service_name,
                      const std::string& node) {
  json::array out;
  out.reserve(spans.size());
  for (const auto& s : spans) {
    json::object o{{"traceId", s.ctx.trace_id_hex()},
                   {"spanId", s.ctx.span_id_hex()},
                   {"name", s.name},
                   {"kind", s.kind},
                   {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
                   {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
                   {"status", json::object{{"code", s.error ? 2 : 1}}}};
    if (!all_zero(s.parent_id)) o["parentSpanId"] = hex_encode(s.parent_id.data(), 8);
    json::array attrs;
    for (const auto& [k, v] : s.attributes) attrs.push_back(string_attr(k, v));
    o["attributes"] = std::move(attrs);
    out.push_back(std::move(o));
  }
  json::object resource{{"attributes", json::array{string_attr("service.name", service_name),
                                                   string_attr("service.instance.id", node)}}};
  json::object scope_spans{{"scope", json::object{{"name", "hype"}}}, {"spans", std::move(out)}};
  json::object rs{{"resource", std::move(resource)},
                  {"scopeSpans", json::array{std::move(scope_spans)}}};
  return json::serialize(json::object{{"resourceSpans", json::array{std::move(rs)}}});
}

Tracer::Tracer(TracerOptions options, metrics::Registry& registry)
    : opts_(std::move(options)),
      exported_(registry.counter("trace_spans_exported_total", "Spans posted to the OTLP endpoint")
                    .get()),
      dropped_queue_(registry
                         .counter("trace_spans_dropped_total",
                                  "Spans dropped: the export queue was full, or the post failed",
                                  {"reason"})
                         .with({"queue_full"})),
      dropped_export_(registry
                          .counter("trace_spans_dropped_total",
                                   "Spans dropped: the export queue was full, or the post failed",
                                   {"reason"})
                          .with({"export_failed"})) {
  if (opts_.endpoint.empty()) return;
  if (!parse_endpoint(opts_.endpoint, host_, port_, path_))
    throw std::runtime_error("telemetry.otlp_endpoint: expected http://host:port/path, got " +
                             opts_.endpoint);
  thread_ = std::thread([this] {
    set_thread_name("hype-trace");
    run();
  });
}

Tracer::~Tracer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Tracer::record(Span span) {
  if (!enabled()) return;
  if (span.end_unix_ns == 0) span.end_unix_ns = unix_ns_now();
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= opts_.max_queue) {
      dropped_queue_.inc();
      return;
    }
    queue_.push_back(std::move(span));
  }
  cv_.notify_one();
}

void Tracer::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, std::chrono::milliseconds(opts_.flush_ms),
                 [this] { return stopping_ || queue_.size() >= opts_.max_batch; });
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    std::vector<Span> batch;
    while (!queue_.empty() && batch.size() < opts_.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    if (post(otlp_json(batch, opts_.service_name, opts_.node)))
      exported_.inc(static_cast<double>(batch.size()));
    else
      dropped_export_.inc(static_cast<double>(batch.size()));
    lock.lock();
  }
}

bool Tracer::post(const std::string& body) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res) != 0 || !res)
    return false;
  int fd = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  bool ok = false;
  if (fd >= 0) {
    timeval tv{2, 0};  // the socket's deadline: connect, send and receive
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
      std::string req = "POST " + path_ + " HTTP/1.1\r\nHost: " + host_ + ":" +
                        std::to_string(port_) +
                        "\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
      std::size_t sent = 0;
      while (sent < req.size()) {
        ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      char buf[64] = {};
      ssize_t n = sent == req.size() ? ::recv(fd, buf, sizeof(buf) - 1, 0) : -1;
      // "HTTP/1.1 2xx"
      ok = n >= 12 && std::strncmp(buf, "HTTP/1.", 7) == 0 && buf[9] == '2';
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  static RateLimitedLog warn_log(1);  // a collector that is down must not flood the log
  if (!ok && warn_log.allow())
    spdlog::warn("traces: post to {} failed; spans dropped", opts_.endpoint);
  return ok;
}

}  // namespace hype::telemetry
