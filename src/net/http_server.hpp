// HTTP/1.1 server with WebSocket upgrade, on Boost.Beast and C++20 coroutines. It owns
// transport concerns only: keep-alive, timeouts, header and body limits (413), connection
// cap, and turning upgrades into WsConnections. Routing and JSON live above, in api/.
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

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: pick a free port (see HttpServer::port)
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  int request_timeout_s = 30;
  std::size_t ws_max_frame_bytes = 65536;
  int max_connections = 20000;
  TrustedProxies trusted_proxies;  // whose X-Forwarded-For sets HttpRequest::remote_ip
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
