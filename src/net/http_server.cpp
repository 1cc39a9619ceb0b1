#include "net/http_server.hpp"

#include <array>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "core/log.hpp"
#include "net/websocket_session.hpp"

namespace hype::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  asio::any_io_executor ex;
  HttpServerOptions opts;
  Handler handler;
  WsOpen ws_open;
  tcp::acceptor acceptor;
  std::atomic<int>* connections;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  RateLimitedLog accept_log{2};

  // The acceptor lives on its own strand: stop() may come from any event-loop thread.
  Impl(asio::any_io_executor e, HttpServerOptions o, Handler h, WsOpen w, std::atomic<int>* c)
      : ex(e),
        opts(std::move(o)),
        handler(std::move(h)),
        ws_open(std::move(w)),
        acceptor(asio::make_strand(e)),
        connections(c) {}

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(tcp::socket socket);
};

namespace {

HttpRequest to_plain(const http::request<http::string_body>& req, const std::string& ip,
                     const TrustedProxies& proxies) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  auto q = r.target.find('?');
  auto decoded = percent_decode(std::string_view(r.target).substr(0, q), false);
  r.path = decoded ? *decoded : std::string();
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  for (auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  r.body = req.body();
  std::vector<std::string_view> forwarded;
  for (auto& [k, v] : r.headers)
    if (k == "x-forwarded-for") forwarded.push_back(v);
  r.remote_ip = proxies.client_address(ip, forwarded, r.header("x-real-ip"));
  r.keep_alive = req.keep_alive();
  return r;
}

http::response<http::string_body> to_beast(HttpResponse&& res, unsigned version, bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(res.status), version};
  out.set(http::field::server, "hype");
  if (!res.content_type.empty()) out.set(http::field::content_type, res.content_type);
  for (auto& [k, v] : res.headers) out.set(k, v);
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

}  // namespace

HttpServer::HttpServer(asio::any_io_executor ex, HttpServerOptions opts, Handler handler,
                       WsOpen ws_open)
    : impl_(std::make_unique<Impl>(ex, std::move(opts), std::move(handler), std::move(ws_open),
                                   &connections_)) {}

HttpServer::~HttpServer() {
  *impl_->alive = false;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

void HttpServer::start() {
  tcp::endpoint ep(asio::ip::make_address(impl_->opts.host),
                   static_cast<unsigned short>(impl_->opts.port));
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void HttpServer::stop() {
  asio::dispatch(impl_->acceptor.get_executor(), [alive = impl_->alive, impl = impl_.get()] {
    if (!*alive) return;
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
}

int HttpServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  auto alive_flag = alive;
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::make_strand(ex), asio::as_tuple(asio::use_awaitable));
    if (!*alive_flag || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and friends: back off a little instead of spinning.
      if (accept_log.allow()) spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(ex, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (connections->load() >= opts.max_connections) {
      boost::system::error_code ignore;
      socket.close(ignore);
      continue;
    }
    auto strand = socket.get_executor();
    asio::co_spawn(strand, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Impl::serve(tcp::socket socket) {
  connections->fetch_add(1);
  struct Guard {
    std::atomic<int>* c;
    bool released = false;
    ~Guard() {
      if (!released) c->fetch_sub(1);
    }
  } guard{connections};

  boost::system::error_code ec;
  std::string ip = socket.remote_endpoint(ec).address().to_string();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(opts.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    stream.expires_after(std::chrono::seconds(opts.request_timeout_s));
    auto [rec, n] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (rec == http::error::end_of_stream || rec == beast::error::timeout ||
        rec == asio::error::connection_reset || rec == asio::error::eof)
      break;
    if (rec) {
      int status = 400;
      const char* code = "bad_request";
      const char* msg = "malformed HTTP request";
      if (rec == http::error::body_limit) {
        status = 413;
        code = "payload_too_large";
        msg = "request body is too large";
      } else if (rec == http::error::header_limit) {
        status = 431;
        code = "headers_too_large";
        msg = "request headers are too large";
      }
      auto res = to_beast(HttpResponse::error(status, code, msg), 11, false);
      co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      // The client may still be sending (a 413 arrives mid-body): closing now would reset the
      // connection and lose our answer. Stop sending, then read and drop what it still sends,
      // bounded in bytes and time.
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream.expires_after(std::chrono::seconds(2));
      std::array<char, 16384> sink;
      std::size_t drained = 0;
      while (drained < (std::size_t{8} << 20)) {
        auto [dec, dn] = co_await stream.async_read_some(asio::buffer(sink),
                                                         asio::as_tuple(asio::use_awaitable));
        if (dec) break;
        drained += dn;
      }
      break;
    }
    auto req = parser.release();
    HttpRequest plain = to_plain(req, ip, opts.trusted_proxies);

    if (beast::websocket::is_upgrade(req)) {
      stream.expires_never();
      guard.released = true;
      auto* counter = connections;
      run_websocket(std::move(stream), std::move(req), std::move(plain), opts.ws_max_frame_bytes,
                    ws_open, [counter] { counter->fetch_sub(1); });
      co_return;
    }

    HttpResponse res;
    try {
      res = co_await handler(plain);
    } catch (const std::exception& e) {
      spdlog::error("unhandled error on {} {}: {}", plain.method, plain.path, e.what());
      res = HttpResponse::error(500, "internal", "internal server error");
    }
    bool keep = req.keep_alive() && res.status != 413;
    auto out = to_beast(std::move(res), req.version(), keep);
    if (req.method() == http::verb::head) out.body().clear();
    stream.expires_after(std::chrono::seconds(opts.request_timeout_s));
    auto [wec, wn] = co_await http::async_write(stream, out, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec || !keep) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace hype::net
