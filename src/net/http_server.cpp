#include "net/http_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "core/log.hpp"
#include "net/connection_limits.hpp"
#include "net/http_framing.hpp"
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
  std::shared_ptr<ConnectionLimits> limits;
  // A descriptor held back for the moment the process runs out (EMFILE): giving it up lets
  // the connection waiting in the backlog (a health check, say) be accepted at once, instead
  // of an accept loop that fails, sleeps and fails again while the backlog times out.
  int reserve_fd = -1;
  RateLimitedLog accept_log{2};
  RateLimitedLog refuse_log{2};

  // The acceptor lives on its own strand: stop() may come from any event-loop thread.
  Impl(asio::any_io_executor e, HttpServerOptions o, Handler h, WsOpen w, std::atomic<int>* c)
      : ex(e),
        opts(std::move(o)),
        handler(std::move(h)),
        ws_open(std::move(w)),
        acceptor(asio::make_strand(e)),
        connections(c),
        limits(std::make_shared<ConnectionLimits>(opts.ws.unauthenticated_per_ip)) {}
  ~Impl() {
    if (reserve_fd >= 0) ::close(reserve_fd);
  }
  void keep_reserve() {
    if (reserve_fd < 0) reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  // Room for one more connection at the cap, made by shedding; the slack covers sockets
  // that were shed but have not finished closing yet.
  bool make_room() {
    int cap = opts.max_connections;
    int slack = std::max(8, cap / 16);
    return connections->load() < cap + slack && limits->shed_one();
  }

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

// Answers an error and ends the connection. The client may still be sending (a 413 arrives
// mid-body): closing at once would reset the connection and lose our answer. So: stop
// sending, then read and drop what it still sends, bounded in bytes and time. Nothing read
// here is ever parsed, so a request hidden in a refused body is never served.
asio::awaitable<void> reply_and_close(beast::tcp_stream& stream, int status, std::string_view code,
                                      std::string_view msg) {
  auto res = to_beast(HttpResponse::error(status, code, msg), 11, false);
  stream.expires_after(std::chrono::seconds(5));
  co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 16384> sink;
  std::size_t drained = 0;
  while (drained < (std::size_t{8} << 20)) {
    auto [dec, dn] =
        co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (dec) break;
    drained += dn;
  }
}

// An HTTP connection's entry in the shed list while it waits, idle, for a request.
struct IdleSlot {
  beast::tcp_stream* stream;
  bool shed = false;
};

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
  impl_->keep_reserve();
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
      if (accept_log.allow()) spdlog::warn("accept failed: {}", ec.message());
      if (ec == asio::error::no_descriptors ||
          ec == boost::system::errc::too_many_files_open_in_system) {
        // Out of descriptors although below the connection cap (the rest of the process
        // holds some too): close the cheapest connection and accept with the reserve.
        limits->shed_one();
        if (reserve_fd >= 0) {
          ::close(reserve_fd);
          reserve_fd = -1;
          continue;
        }
      }
      // Stop accepting briefly instead of spinning on an error that persists.
      asio::steady_timer t(ex, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    keep_reserve();
    if (connections->load() >= opts.max_connections && !make_room()) {
      if (refuse_log.allow())
        spdlog::warn("connection refused: {} open, nothing idle to close", connections->load());
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
  auto slot = std::make_shared<IdleSlot>(IdleSlot{&stream});
  auto shed = [w = std::weak_ptr<IdleSlot>(slot), strand = stream.get_executor()] {
    asio::post(strand, [w] {
      if (auto s = w.lock()) {
        s->shed = true;
        s->stream->cancel();
      }
    });
  };
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(opts.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    // One deadline for the whole request, header and body: a client trickling bytes cannot
    // hold the connection longer.
    stream.expires_after(std::chrono::seconds(opts.request_timeout_s));
    // Gather the raw header block first: framing is judged on the bytes as sent (Beast
    // unfolds obs-fold and guesses at odd Transfer-Encodings).
    boost::system::error_code rec;
    std::optional<std::string> framing;
    for (;;) {
      auto data = buffer.data();
      std::string_view have(static_cast<const char*>(data.data()), data.size());
      if (auto end = header_block_end(have); end != std::string_view::npos) {
        framing = framing_error(have.substr(0, end));
        break;
      }
      if (have.size() > opts.max_header_bytes) break;  // Beast answers 431
      // Nothing received yet (a fresh or keep-alive connection): sheddable at the cap.
      auto ticket =
          have.empty() ? limits->add_sheddable(ConnectionLimits::Kind::kIdleHttp, shed) : 0;
      auto [e, n] = co_await stream.async_read_some(buffer.prepare(4096),
                                                    asio::as_tuple(asio::use_awaitable));
      if (ticket && !limits->remove_sheddable(ticket)) slot->shed = true;
      if (e || slot->shed) {
        rec = e ? e : asio::error::operation_aborted;
        break;
      }
      buffer.commit(n);
    }
    if (rec) break;  // closed, timed out, reset or shed: nothing to answer
    if (framing) {
      co_await reply_and_close(stream, 400, "bad_request",
                               "ambiguous request framing: " + *framing);
      co_return;
    }
    auto [perr, n] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    rec = perr;
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
      co_await reply_and_close(stream, status, code, msg);
      co_return;
    }
    auto req = parser.release();
    HttpRequest plain = to_plain(req, ip, opts.trusted_proxies);

    if (beast::websocket::is_upgrade(req)) {
      if (!limits->try_add_unauthenticated(ip)) {
        co_await reply_and_close(stream, 429, "too_many_connections",
                                 "too many unidentified WebSocket connections from this address");
        co_return;
      }
      stream.expires_never();
      guard.released = true;
      auto* counter = connections;
      run_websocket(std::move(stream), std::move(req), std::move(plain), opts.ws, limits, ws_open,
                    [counter] { counter->fetch_sub(1); });
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
