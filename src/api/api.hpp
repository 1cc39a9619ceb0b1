// The REST API: routes under /api/v1, health and metrics endpoints, the web client's static
// files, and the cross-cutting rules every request passes: rate limits (429 + Retry-After;
// per user when signed in, else per client address, plus the login throttle),
// authentication, JSON errors from ApiError, request metrics. Handlers run on the blocking
// pool; this class never blocks the event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "api/router.hpp"
#include "auth/auth_service.hpp"
#include "auth/login_throttle.hpp"
#include "chat/chat_service.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "net/blocking_pool.hpp"
#include "net/http_message.hpp"
#include "store/store.hpp"
#include "voice/voice_service.hpp"

namespace hype::api {

class StaticFiles;

struct ApiDeps {
  auth::AuthService& auth;
  chat::ChatService& chat;
  voice::VoiceService& voice;
  cluster::Coordinator& coord;
  store::Store& store;
  net::BlockingPool& pool;
  metrics::Registry& metrics;
  const Config& config;
  telemetry::Tracer* tracer = nullptr;     // spans of API requests; null: none
  const cluster::EventBus* bus = nullptr;  // /readyz waits for it; null: none to wait for
};

class Api {
 public:
  explicit Api(ApiDeps deps);
  ~Api();
  boost::asio::awaitable<net::HttpResponse> handle(net::HttpRequest& req);

 private:
  void add_auth_routes();
  void add_guild_routes();
  void add_channel_routes();
  void add_voice_routes();
  // Budgets are shared state (cluster::Coordinator): awaited, never blocking the event loop.
  boost::asio::awaitable<std::optional<net::HttpResponse>> check_rate(std::string key,
                                                                      RateBudget b);
  boost::asio::awaitable<std::optional<net::HttpResponse>> check_budgets(
      const Route& route, const net::HttpRequest& req, Id user);
  Id bearer_user(const net::HttpRequest& req) const;  // 0 when there is no valid token
  net::HttpResponse run_route(const Route& route, Context& ctx, bool bad_param);

  ApiDeps d_;
  Router router_;
  std::unique_ptr<StaticFiles> static_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& duration_;
  metrics::Family<metrics::Counter>& rate_limited_;
  auth::LoginThrottle login_throttle_;
};

// Serializes an ApiError as the protocol's error body.
net::HttpResponse error_response(int status, const std::string& code, const std::string& message,
                                 const std::string& field);

}  // namespace hype::api
