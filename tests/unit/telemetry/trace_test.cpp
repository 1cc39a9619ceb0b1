// W3C trace context, span parentage, the OTLP/HTTP JSON body, and the Tracer's exporter against
// a real local HTTP listener (its queue bound and its failed posts counted).
#include "telemetry/trace.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <string>
#include <thread>

namespace hype::telemetry {
namespace {

namespace json = boost::json;

constexpr const char* kExample = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(TraceContext, ParsesAndFormatsTheW3cExample) {
  auto c = TraceContext::parse(kExample);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace_id_hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(c->span_id_hex(), "b7ad6b7169203331");
  EXPECT_EQ(c->flags, 1);
  EXPECT_EQ(c->traceparent(), kExample);
}

TEST(TraceContext, RefusesMalformedValues) {
  for (const char* bad : {
           "",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",       // no flags
           "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",    // upper case
           "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",    // version ff
           "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",    // unknown version
           "00-00000000000000000000000000000000-b7ad6b7169203331-01",    // zero trace id
           "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",    // zero span id
           "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",    // separators
           "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",    // not hex
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",  // trailing
       })
    EXPECT_FALSE(TraceContext::parse(bad)) << bad;
}

TEST(TraceContext, ChildSpansKeepTheTraceAndNameTheirParent) {
  auto parent = *TraceContext::parse(kExample);
  Span s = start_span("voice.place", parent);
  EXPECT_EQ(s.ctx.trace_id, parent.trace_id);
  EXPECT_NE(s.ctx.span_id, parent.span_id);
  EXPECT_EQ(s.parent_id, parent.span_id);
  EXPECT_GT(s.start_unix_ns, 0);
  // No (or an invalid) parent: a new trace, no parent id.
  Span r = start_span("root", std::nullopt);
  EXPECT_TRUE(r.ctx.valid());
  EXPECT_NE(r.ctx.trace_id, parent.trace_id);
  EXPECT_EQ(r.parent_id, (std::array<std::uint8_t, 8>{}));
  EXPECT_NE(TraceContext::root().trace_id, TraceContext::root().trace_id);
}

TEST(Otlp, JsonBodyHasTheSpansWithHexIdsAndStringTimes) {
  auto parent = *TraceContext::parse(kExample);
  Span s = start_span("sfu.identify", parent, 2);
  s.end_unix_ns = s.start_unix_ns + 5;
  s.attributes = {{"hype.node", "node-1"}};
  s.error = true;
  auto body = json::parse(otlp_json({s}, "hype", "node-1")).as_object();
  auto& rs = body.at("resourceSpans").as_array().at(0).as_object();
  auto& res_attrs = rs.at("resource").at("attributes").as_array();
  EXPECT_EQ(res_attrs.at(0).at("key"), "service.name");
  EXPECT_EQ(res_attrs.at(0).at("value").at("stringValue"), "hype");
  auto& span = rs.at("scopeSpans").as_array().at(0).at("spans").as_array().at(0).as_object();
  EXPECT_EQ(span.at("traceId"), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(span.at("parentSpanId"), "b7ad6b7169203331");
  EXPECT_EQ(span.at("spanId").as_string().size(), 16u);
  EXPECT_EQ(span.at("name"), "sfu.identify");
  EXPECT_EQ(span.at("kind"), 2);
  EXPECT_EQ(span.at("startTimeUnixNano").as_string(), std::to_string(s.start_unix_ns));
  EXPECT_EQ(span.at("endTimeUnixNano").as_string(), std::to_string(s.start_unix_ns + 5));
  EXPECT_EQ(span.at("status").at("code"), 2);
  EXPECT_EQ(span.at("attributes").as_array().at(0).at("value").at("stringValue"), "node-1");
}

// One HTTP/1.1 listener on 127.0.0.1 that answers `status` to every request and keeps bodies.
class Collector {
 public:
  explicit Collector(int status) : status_(status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~Collector() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  void serve() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      std::size_t want = std::string::npos;
      while (want == std::string::npos || in.size() < want) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        auto end = in.find("\r\n\r\n");
        auto cl = in.find("Content-Length: ");
        if (want == std::string::npos && end != std::string::npos && cl != std::string::npos)
          want = end + 4 + std::stoul(in.substr(cl + 16));
      }
      {
        std::lock_guard lock(mu_);
        if (want != std::string::npos && in.size() >= want)
          bodies_.push_back(in.substr(in.find("\r\n\r\n") + 4));
      }
      std::string out = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Length: 0\r\n\r\n";
      (void)::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int status_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

double value(metrics::Registry& r, const std::string& series) {
  std::string text = r.render();
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(Tracer, PostsQueuedSpansToTheCollector) {
  Collector collector(200);
  metrics::Registry reg;
  {
    Tracer t({.endpoint = collector.url(), .node = "node-1", .flush_ms = 50}, reg);
    ASSERT_TRUE(t.enabled());
    for (int i = 0; i < 3; ++i) t.record(start_span("s" + std::to_string(i), std::nullopt));
  }  // the destructor flushes
  std::size_t spans = 0;
  for (const auto& b : collector.bodies())
    spans += json::parse(b)
                 .at("resourceSpans")
                 .at(0)
                 .at("scopeSpans")
                 .at(0)
                 .at("spans")
                 .as_array()
                 .size();
  EXPECT_EQ(spans, 3u);
  EXPECT_EQ(value(reg, "trace_spans_exported_total"), 3);
}

TEST(Tracer, AFullQueueAndAFailingCollectorDropAndCount) {
  Collector collector(500);
  metrics::Registry reg;
  {
    // A long flush interval and a large batch: nothing leaves before the destructor.
    Tracer t({.endpoint = collector.url(), .max_queue = 2, .max_batch = 100, .flush_ms = 600000},
             reg);
    for (int i = 0; i < 5; ++i) t.record(start_span("s", std::nullopt));
    EXPECT_EQ(value(reg, "trace_spans_dropped_total{reason=\"queue_full\"}"), 3);
  }
  EXPECT_EQ(collector.bodies().size(), 1u);
  EXPECT_EQ(value(reg, "trace_spans_dropped_total{reason=\"export_failed\"}"), 2);
  EXPECT_EQ(value(reg, "trace_spans_exported_total"), 0);
}

TEST(Tracer, WithoutAnEndpointItIsOffAndABadOneIsAnError) {
  metrics::Registry reg;
  Tracer off({}, reg);
  EXPECT_FALSE(off.enabled());
  off.record(start_span("x", std::nullopt));  // no thread, nothing kept
  EXPECT_THROW(Tracer({.endpoint = "https://collector:4318"}, reg), std::runtime_error);
}

}  // namespace
}  // namespace hype::telemetry
