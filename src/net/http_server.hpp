// HTTP/1.1 server with WebSocket upgrade, on Boost.Beast and C++20 coroutines. It owns
// transport concerns only: keep-alive, timeouts, header and body limits (413), unambiguous
// request framing (400 and close otherwise), the connection cap and what is shed at it
// (connection_limits.hpp), and turning upgrades into WsConnections with the protections
// every WebSocket endpoint shares (WsOptions). Routing and JSON live above, in api/.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/client_address.hpp"
#include "net/http_message.hpp"

namespace hype::net {

// Protections of every WebSocket connection (/gateway and /voice alike); close codes in
// docs/protocol.md.
struct WsOptions {
  std::size_t max_frame_bytes = 65536;  // larger frames close with 1009
  // Send queue bound: past either, the connection closes with 4010 (slow consumer).
  std::size_t max_send_queue = 2000;
  std::size_t max_send_bytes = std::size_t{8} << 20;
  // Inbound frames per connection, a token bucket of frame_budget frames refilled over
  // frame_budget_seconds; empty closes with 4008. 0: no budget.
  double frame_budget = 0;
  double frame_budget_seconds = 60;
  // A connection that has not identified (WsConnection::set_authenticated) by then closes
  // with 4003.
  int identify_timeout_s = 10;
  int write_timeout_s = 30;        // a single frame write stuck this long drops the socket
  int unauthenticated_per_ip = 0;  // not-yet-identified sockets per client address; 0: no cap
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: pick a free port (see HttpServer::port)
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  int request_timeout_s = 30;
  // Open connections (HTTP and WebSocket) before idle ones are shed for newcomers; keep it
  // below the descriptor limit (the app derives it from RLIMIT_NOFILE).
  int max_connections = 20000;
  TrustedProxies trusted_proxies;  // whose X-Forwarded-For sets HttpRequest::remote_ip
  WsOptions ws;
};

class HttpServer {
 public:
  using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest&)>;
  // Called for upgrade requests; returns the listener for the new connection, or nullptr to
  // refuse the upgrade (answered 404).
  using WsOpen =
      std::function<std::shared_ptr<WsListener>(std::shared_ptr<WsConnection>, const HttpRequest&)>;

  HttpServer(boost::asio::any_io_executor ex, HttpServerOptions opts, Handler handler,
             WsOpen ws_open);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();  // binds and listens; throws std::system_error when it cannot
  void stop();   // stops accepting; open connections end on their own
  int port() const;
  int connections() const { return connections_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<int> connections_{0};
};

}  // namespace hype::net
