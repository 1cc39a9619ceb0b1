#include "app/server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "api/api.hpp"
#include "app/analytics_role.hpp"
#include "app/domain.hpp"
#include "app/node.hpp"
#include "app/sfu_role.hpp"
#include "app/web_root.hpp"
#include "cluster/redis_placement.hpp"
#include "core/client_address.hpp"
#include "core/threads.hpp"
#include "gateway/gateway.hpp"
#include "net/http_server.hpp"
#include "store/store.hpp"

namespace hype::app {

namespace asio = boost::asio;

namespace {

net::HttpServerOptions http_options(const Config& config, long fd_limit) {
  net::HttpServerOptions o;
  o.host = config.server.host;
  o.port = config.server.port;
  o.max_body_bytes = static_cast<std::size_t>(config.limits.max_body_bytes);
  o.max_connections = connection_cap(config, fd_limit);
  o.ws.max_frame_bytes = static_cast<std::size_t>(config.gateway.max_frame_bytes);
  o.ws.max_send_queue = static_cast<std::size_t>(config.gateway.max_send_queue);
  o.ws.max_send_bytes = static_cast<std::size_t>(config.server.ws_max_send_bytes);
  o.ws.identify_timeout_s = config.server.ws_identify_timeout;
  if (config.limits.enabled) {
    o.ws.frame_budget = config.limits.gateway.tokens;
    o.ws.frame_budget_seconds = config.limits.gateway.per_seconds;
    o.ws.unauthenticated_per_ip = config.limits.ws_unauthenticated_per_ip;
  }
  spdlog::info("connection cap {} (descriptor limit {})", o.max_connections, fd_limit);
  o.trusted_proxies = TrustedProxies::parse(config.server.trusted_proxies);
  return o;
}

// Without the api role a node still answers what operators and load balancers ask of every
// node: liveness, readiness (nothing to wait for: no database) and metrics.
asio::awaitable<net::HttpResponse> node_endpoints(Node& node, net::HttpRequest& req) {
  net::HttpResponse res;
  if (req.path == "/healthz") {
    res = net::HttpResponse::json(200, R"({"status":"ok"})");
  } else if (req.path == "/readyz") {
    res = net::HttpResponse::json(200, R"({"status":"ready"})");
  } else if (req.path == "/metrics") {
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = node.registry.render();
  } else {
    res = api::error_response(404, "not_found",
                              "not served by this node (roles: " + node.roles.describe() + ")", "");
  }
  co_return res;
}

std::string ws_base_url(const Config& config, std::uint16_t port) {
  std::string url = config.server.public_url.empty()
                        ? "http://" + config.server.host + ":" + std::to_string(port)
                        : config.server.public_url;
  std::string ws = url.rfind("https://", 0) == 0  ? "wss://" + url.substr(8)
                   : url.rfind("http://", 0) == 0 ? "ws://" + url.substr(7)
                                                  : url;
  while (!ws.empty() && ws.back() == '/') ws.pop_back();
  return ws;
}

}  // namespace

int run_migrate(const Config& config) {
  auto store = store::open_store(config.effective_database_url(), 1);
  int n = store->migrate();
  spdlog::info("migrations applied: {} (schema version {})", n, store->schema_version());
  return 0;
}

int run_keys(const Config& config) {
  auto signer = make_voice_signer(config);
  if (!signer) {
    std::fprintf(stderr,
                 "hype keys: this configuration has only auth.voice_public_key (an SFU node); run "
                 "it on an API node\n");
    return 2;
  }
  std::printf(
      "# Voice tokens: API nodes sign with auth.voice_key (kept secret), SFU nodes verify\n"
      "# with this public key. Put it in the SFU nodes' configuration:\n"
      "[auth]\nvoice_public_key = \"%s\"\n",
      signer->verifier().key_text().c_str());
  return 0;
}

namespace {

// Runs `work` against the cluster's Redis (one connection, waited for up to 3 s) and returns
// the error it threw ("" when none). nullopt: cluster.redis_url is unusable (said on stderr).
std::optional<std::string> with_cluster_redis(
    const Config& config, const char* command,
    const std::function<asio::awaitable<void>(cluster::RedisClient&)>& work) {
  auto options = cluster::parse_redis_url(config.cluster.redis_url);
  if (!options) {
    std::fprintf(stderr, "hype %s: cluster.redis_url is %s\n", command,
                 config.cluster.redis_url.empty() ? "not set (one process, no cluster)"
                                                  : "not redis://[:password@]host[:port][/db]");
    return std::nullopt;
  }
  asio::io_context io;
  cluster::RedisClient redis(io.get_executor(), *options);
  redis.start();
  std::string error;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io);
        for (int i = 0; i < 30 && !redis.connected(); ++i) {
          t.expires_after(std::chrono::milliseconds(100));
          co_await t.async_wait(asio::use_awaitable);
        }
        try {
          co_await work(redis);
        } catch (const std::exception& e) {
          error = e.what();
        }
        redis.stop();
      },
      asio::detached);
  io.run();
  return error;
}

}  // namespace

int run_sfu_drain(const Config& config, const std::string& node_id, int wait_seconds) {
  bool known = false;
  bool gone = false;
  bool draining = false;
  auto error = with_cluster_redis(
      config, "sfu drain", [&](cluster::RedisClient& redis) -> asio::awaitable<void> {
        auto nodes = co_await cluster::registry_status(redis);
        for (const auto& n : nodes) known = known || n.node.id == node_id;
        if (!known) co_return;
        co_await cluster::request_drain(redis, node_id);
        std::printf("drain of %s requested: its channels move to other nodes, then it exits\n",
                    node_id.c_str());
        std::fflush(stdout);
        asio::steady_timer t(co_await asio::this_coro::executor);
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
        while (std::chrono::steady_clock::now() < end) {
          t.expires_after(std::chrono::milliseconds(250));
          co_await t.async_wait(asio::use_awaitable);
          auto now = co_await cluster::registry_status(redis);
          const cluster::NodeStatus* me = nullptr;
          for (const auto& n : now)
            if (n.node.id == node_id) me = &n;
          if (!me) {
            gone = true;
            break;
          }
          if (me->node.draining && !draining) {
            draining = true;
            std::printf("%s is draining (%d participants, %d channels left)\n", node_id.c_str(),
                        me->node.participants, me->channels);
            std::fflush(stdout);
          }
        }
      });
  if (!error) return 2;
  if (!error->empty()) {
    std::fprintf(stderr, "hype sfu drain: %s\n", error->c_str());
    return 1;
  }
  if (!known) {
    std::fprintf(stderr, "hype sfu drain: no node %s in the registry (hype cluster status)\n",
                 node_id.c_str());
    return 2;
  }
  if (gone) {
    std::printf("%s drained and left the cluster\n", node_id.c_str());
    return 0;
  }
  if (wait_seconds > 0)
    std::fprintf(stderr, "hype sfu drain: %s still in the registry after %d s%s\n", node_id.c_str(),
                 wait_seconds,
                 draining ? " (draining)" : " (its drain did not start: sfu.drain_timeout 0?)");
  return wait_seconds > 0 ? 1 : 0;
}

int run_cluster_status(const Config& config) {
  std::optional<std::vector<cluster::NodeStatus>> nodes;
  auto error = with_cluster_redis(config, "cluster status",
                                  [&](cluster::RedisClient& redis) -> asio::awaitable<void> {
                                    nodes = co_await cluster::registry_status(redis);
                                  });
  if (!error) return 2;
  if (!nodes) {
    std::fprintf(stderr, "hype cluster status: %s\n", error->c_str());
    return 1;
  }
  std::printf("%-12s %-8s %-36s %12s %9s %9s %10s  %s\n", "node", "region", "url", "participants",
              "capacity", "channels", "last beat", "state");
  for (const auto& n : *nodes) {
    const char* state = n.node.draining ? "draining" : n.age_ms > 3000 ? "gone" : "live";
    std::printf("%-12s %-8s %-36s %12d %9s %9d %8.1f s  %s\n", n.node.id.c_str(),
                n.node.region.c_str(), n.node.url.c_str(), n.node.participants,
                n.node.capacity > 0 ? std::to_string(n.node.capacity).c_str() : "-", n.channels,
                static_cast<double>(n.age_ms) / 1000.0, state);
  }
  std::printf("%zu node(s)\n", nodes->size());
  return 0;
}

int run_server(const Config& given) {
  Config config = given;
  config.server.web_root = resolve_web_root(given.server.web_root, current_executable());
  if (config.server.web_root.empty())
    spdlog::info("no web client (server.web_root {}): serving the API only",
                 given.server.web_root == "none" ? "is none" : "unset and none beside the binary");
  else
    spdlog::info("web client from {}", config.server.web_root);
  Node node(config);
  spdlog::info("roles: {}", node.roles.all() ? "all" : node.roles.describe());

  // The domain (database, accounts, chat, voice) backs the api, gateway and analytics roles.
  std::unique_ptr<Domain> domain;
  if (node.roles.api || node.roles.gateway || node.roles.analytics)
    domain = std::make_unique<Domain>(node);
  std::unique_ptr<AnalyticsRole> analytics;
  if (node.roles.analytics) analytics = std::make_unique<AnalyticsRole>(*domain);

  std::unique_ptr<SfuRole> sfu;
  if (node.roles.sfu) {
    sfu = std::make_unique<SfuRole>(node);
    try {
      sfu->start();
    } catch (const std::exception& e) {
      spdlog::error("cannot start the SFU: {}", e.what());
      return 1;
    }
  }
  if (domain) domain->start();
  if (analytics) analytics->start();

  std::unique_ptr<api::Api> api;
  if (node.roles.api)
    api = std::make_unique<api::Api>(
        api::ApiDeps{domain->auth, domain->chat, domain->voice, *node.coord, *domain->store,
                     domain->pool, node.registry, config, node.tracer.get(), node.bus.get()});
  std::shared_ptr<gateway::Gateway> gw;
  if (node.roles.gateway) {
    gw = std::make_shared<gateway::Gateway>(
        node.io.get_executor(),
        gateway::GatewayDeps{domain->auth, domain->chat, domain->voice, *node.coord, *node.bus,
                             domain->pool, node.registry, config, &node.quality,
                             node.tracer.get()});
    gw->start();
  }
  auto stop_roles = [&] {
    if (gw) gw->stop();
    if (sfu) sfu->stop();
    if (analytics) analytics->stop();
    if (domain) domain->stop();
  };

  net::HttpServer http(
      node.io.get_executor(), http_options(config, node.fd_limit),
      [&api, &node](net::HttpRequest& r) { return api ? api->handle(r) : node_endpoints(node, r); },
      [gw, &sfu](std::shared_ptr<net::WsConnection> c,
                 const net::HttpRequest& r) -> std::shared_ptr<net::WsListener> {
        if (r.path == "/voice" && sfu) return sfu->open(std::move(c), r);
        if (r.path == "/gateway" && gw) return gw->open(std::move(c), r);
        return nullptr;
      });
  try {
    http.start();
  } catch (const std::exception& e) {
    spdlog::error("cannot listen on {}:{}: {}", config.server.host, config.server.port, e.what());
    stop_roles();
    return 1;
  }
  auto& http_conns =
      node.registry.gauge("http_connections", "open HTTP and WebSocket connections").get();
  node.registry.on_collect([&http_conns, &http] { http_conns.set(http.connections()); });

  std::string ws_base = ws_base_url(config, http.port());
  if (sfu) sfu->announce(ws_base + "/voice");
  std::string url = config.server.public_url.empty()
                        ? "http://" + config.server.host + ":" + std::to_string(http.port())
                        : config.server.public_url;
  spdlog::info("hype serving on {} (roles {}, database {}, voice mode {})", url,
               node.roles.describe(), domain ? domain->store->backend() : "none",
               config.voice.mode);
  std::printf("Hype is running at %s\n", url.c_str());
  std::fflush(stdout);

  asio::signal_set signals(node.io, SIGINT, SIGTERM);
  bool shutting_down = false;
  auto shut_down = [&] {
    if (shutting_down) return;
    shutting_down = true;
    http.stop();
    stop_roles();
    // Give open connections a moment to receive their close frames.
    auto t = std::make_shared<asio::steady_timer>(node.io, std::chrono::milliseconds(300));
    t->async_wait([&node, t](boost::system::error_code) { node.io.stop(); });
  };
  // An SFU node of a cluster drains first (make before break: its channels move to other
  // nodes, their clients follow), then stops: on SIGTERM/SIGINT, or when an operator asks
  // through the cluster (`hype sfu drain`). A signal during the drain stops it at once.
  bool draining = false;
  auto drain = [&](const std::string& why) {
    if (draining || shutting_down) return;
    draining = true;
    spdlog::info("{}: draining this SFU node (up to {} s; signal again to stop now)", why,
                 config.sfu.drain_timeout);
    sfu->drain(std::chrono::seconds(config.sfu.drain_timeout), shut_down);
  };
  const bool can_drain = sfu && node.redis && config.sfu.drain_timeout > 0;
  if (can_drain) sfu->on_drain_requested([&] { drain("drain requested"); });
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code,
                                                                      int sig) {
    if (can_drain && !draining) {
      drain("signal " + std::to_string(sig));
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("signal {}: shutting down{}", sig,
                 draining ? " without waiting for the drain" : "");
    shut_down();
  };
  signals.async_wait(on_signal);
  // Every part keeps its state on strands, so the event loop can run on several threads.
  std::vector<std::thread> io_pool;
  for (int i = 1; i < node.io_threads; ++i)
    io_pool.emplace_back([&node] {
      set_thread_name("hype-io");
      lower_thread_priority(node.config.server.control_nice);
      node.io.run();
    });
  // After the SFU workers started (they keep their priority).
  lower_thread_priority(node.config.server.control_nice);
  node.io.run();
  for (auto& t : io_pool) t.join();
  if (domain) {
    domain->pool.stop();
    domain->pool.join();
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace hype::app
