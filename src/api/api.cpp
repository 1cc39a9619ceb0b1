#include "api/api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <cmath>

#include "api/static_files.hpp"
#include "cluster/placement.hpp"
#include "cluster/redis_client.hpp"
#include "core/clock.hpp"
#include "core/errors.hpp"

namespace hype::api {

namespace json = boost::json;
namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;

HttpResponse error_response(int status, const std::string& code, const std::string& message,
                            const std::string& field) {
  json::object e{{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return HttpResponse::json(status, json::serialize(json::object{{"error", std::move(e)}}));
}

namespace {
// 503 with Retry-After: the cluster cannot decide this request now; it recovers by itself.
HttpResponse unavailable(const Context& ctx, const Route& route, const std::string& code,
                         const std::string& message, const std::exception& why) {
  spdlog::warn("{} on {} {}: {}", code, ctx.request().method, route.pattern, why.what());
  auto res = error_response(503, code, message, "");
  res.headers.emplace_back("Retry-After", "2");
  return res;
}
}  // namespace

Api::Api(ApiDeps deps)
    : d_(deps),
      static_(std::make_unique<StaticFiles>(deps.config.server.web_root)),
      requests_(deps.metrics.counter("http_requests_total", "HTTP requests by route and status",
                                     {"method", "route", "status"})),
      duration_(deps.metrics.histogram("http_request_duration_seconds",
                                       "HTTP request duration by route",
                                       metrics::default_latency_buckets(), {"route"})),
      rate_limited_(deps.metrics.counter("http_rate_limited_total",
                                         "requests refused by a rate limit", {"budget"})),
      login_throttle_(deps.coord,
                      auth::LoginBudgets{deps.config.limits.enabled, deps.config.limits.login_pair,
                                         deps.config.limits.login_account,
                                         static_cast<double>(deps.config.auth.refresh_ttl)}) {
  add_auth_routes();
  add_guild_routes();
  add_channel_routes();
  add_voice_routes();
}

Api::~Api() = default;

asio::awaitable<std::optional<HttpResponse>> Api::check_rate(std::string key, RateBudget b) {
  if (!d_.config.limits.enabled) co_return std::nullopt;
  auto r = co_await d_.coord.async_take(key, b, 1);
  if (r.allowed) co_return std::nullopt;
  int secs = std::max(1, static_cast<int>(std::ceil(r.retry_after_s)));
  rate_limited_.with({key.substr(0, key.find(':'))}).inc();
  auto res = error_response(429, "rate_limited", "too many requests, slow down", "");
  res.headers.emplace_back("Retry-After", std::to_string(secs));
  co_return res;
}

Id Api::bearer_user(const HttpRequest& req) const {
  auto auth = req.header("authorization");
  if (auth.size() < 8 || auth.substr(0, 7) != "Bearer ") return 0;
  try {
    // Signature and expiry only, no database: cheap enough for the event loop.
    return d_.auth.authenticate(std::string(auth.substr(7)));
  } catch (const ApiError&) {
    return 0;
  }
}

asio::awaitable<std::optional<HttpResponse>> Api::check_budgets(const Route& route,
                                                                const HttpRequest& req, Id user) {
  // A signed-in user is counted by who they are, wherever they connect from: many people share
  // one address behind a NAT or a proxy, and one of them flooding must not stop the others.
  // Anyone else (no or a bad token) is counted by client address (see core/client_address).
  std::optional<HttpResponse> limited;
  if (user) {
    limited = co_await check_rate("user:" + id_to_string(user), d_.config.limits.user);
    if (!limited && route.rate == RateClass::messages)
      limited = co_await check_rate("msg:" + id_to_string(user), d_.config.limits.messages);
    co_return limited;
  }
  limited = co_await check_rate("ip:" + req.remote_ip, d_.config.limits.ip);
  if (!limited && route.rate == RateClass::auth)
    limited = co_await check_rate("auth:" + req.remote_ip, d_.config.limits.auth);
  if (!limited && route.rate == RateClass::refresh)
    limited = co_await check_rate("refresh:" + req.remote_ip, d_.config.limits.refresh);
  co_return limited;
}

HttpResponse Api::run_route(const Route& route, Context& ctx, bool bad_param) {
  try {
    if (route.needs_user && !ctx.user) {
      auto auth = ctx.request().header("authorization");
      if (auth.size() < 8 || auth.substr(0, 7) != "Bearer ")
        throw unauthorized("missing Authorization: Bearer token");
      ctx.user = d_.auth.authenticate(std::string(auth.substr(7)));
    }
    if (bad_param) throw not_found("resource");
    json::value out = route.handler(ctx);
    HttpResponse res;
    res.status = ctx.status;
    if (!ctx.answer_json.empty())
      res.body = std::move(ctx.answer_json);
    else if (ctx.status != 204)
      res.body = json::serialize(out);
    else
      res.content_type.clear();
    res.headers = std::move(ctx.headers);
    return res;
  } catch (const ApiError& e) {
    auto res = error_response(e.status(), e.code(), e.what(), e.field());
    if (e.retry_after() > 0)
      res.headers.emplace_back("Retry-After", std::to_string(e.retry_after()));
    return res;
  } catch (const StoreError& e) {
    spdlog::error("store error on {} {}: {}", ctx.request().method, route.pattern, e.what());
    return error_response(500, "internal", "internal server error", "");
  } catch (const cluster::PlacementError& e) {
    // No SFU node can be chosen now (Redis unreachable, none registered): this one decision
    // fails, it recovers by itself.
    return unavailable(ctx, route, "placement_unavailable",
                       "no SFU node can be chosen right now; try again shortly", e);
  } catch (const cluster::RedisError& e) {
    // Shared state (voice states, in a cluster) cannot be read or changed now: nothing was
    // decided; Redis comes back by itself.
    return unavailable(ctx, route, "coordination_unavailable",
                       "the cluster's shared state is unreachable; try again shortly", e);
  } catch (const std::exception& e) {
    spdlog::error("error on {} {}: {}", ctx.request().method, route.pattern, e.what());
    return error_response(500, "internal", "internal server error", "");
  }
}

asio::awaitable<HttpResponse> Api::handle(HttpRequest& req) {
  std::int64_t start = steady_us();
  std::string label;
  HttpResponse res;
  const std::string& path = req.path;
  if (path == "/healthz") {
    label = "/healthz";
    res = HttpResponse::json(200, R"({"status":"ok"})");
  } else if (path == "/readyz") {
    label = "/readyz";
    bool ok = co_await d_.pool.run([this] {
      try {
        return d_.store.ping();
      } catch (const std::exception&) {
        return false;
      }
    });
    if (!ok)
      res = error_response(503, "not_ready", "database unavailable", "");
    else if (d_.bus && !d_.bus->ready())
      res = error_response(503, "not_ready", "cluster events not read yet", "");
    else
      res = HttpResponse::json(200, R"({"status":"ready"})");
  } else if (path == "/metrics") {
    label = "/metrics";
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = d_.metrics.render();
  } else if (path.rfind("/api/", 0) == 0) {
    Match m = router_.match(req.method, path);
    if (!m.route) {
      label = "unmatched";
      res = m.path_matched ? error_response(405, "method_not_allowed", "method not allowed", "")
                           : error_response(404, "not_found", "no such route", "");
    } else {
      label = m.route->pattern;
      Id user = m.route->needs_user ? bearer_user(req) : 0;
      if (auto limited = co_await check_budgets(*m.route, req, user)) {
        res = std::move(*limited);
      } else {
        Context ctx(req, std::move(m.params));
        ctx.user = user;
        const Route* route = m.route;
        bool bad_param = m.bad_param;
        // W3C trace context: the request's span continues a valid traceparent header (else a
        // new trace) and goes back in the response's traceparent.
        std::optional<telemetry::Span> span;
        if (d_.tracer && d_.tracer->enabled()) {
          span =
              telemetry::start_span(req.method + " " + route->pattern,
                                    telemetry::TraceContext::parse(req.header("traceparent")), 2);
          ctx.trace = span->ctx;
          ctx.tracer = d_.tracer;
        }
        res = co_await d_.pool.run(
            [this, route, &ctx, bad_param] { return run_route(*route, ctx, bad_param); });
        if (span) {
          span->attributes = {{"http.request.method", req.method},
                              {"http.route", route->pattern},
                              {"http.response.status_code", std::to_string(res.status)}};
          span->error = res.status >= 500;
          res.headers.emplace_back("traceparent", span->ctx.traceparent());
          d_.tracer->record(std::move(*span));
        }
      }
    }
    res.headers.emplace_back("Cache-Control", "no-store");
  } else if (auto s = static_->serve(req)) {
    label = "static";
    res = std::move(*s);
  } else {
    label = "unmatched";
    res = error_response(404, "not_found", "not found", "");
  }
  requests_.with({req.method, label, std::to_string(res.status)}).inc();
  duration_.with({label}).observe(static_cast<double>(steady_us() - start) / 1e6);
  co_return res;
}

}  // namespace hype::api
