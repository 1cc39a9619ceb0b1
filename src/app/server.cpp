#include "app/server.hpp"

#include <sys/resource.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio.hpp>
#include <fstream>
#include <thread>

#include "api/api.hpp"
#include "app/secrets.hpp"
#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "core/client_address.hpp"
#include "core/metrics.hpp"
#include "gateway/gateway.hpp"
#include "net/blocking_pool.hpp"
#include "net/http_server.hpp"
#include "sfu/sfu_service.hpp"
#include "store/store.hpp"
#include "voice/voice_service.hpp"

namespace hype::app {

namespace asio = boost::asio;

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string part = s.substr(i, j - i);
    auto b = part.find_first_not_of(' ');
    auto e = part.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
    i = j + 1;
  }
  return out;
}

void register_process_metrics(metrics::Registry& reg, cluster::Coordinator& coord) {
  auto& rss = reg.gauge("process_resident_memory_bytes", "resident memory").get();
  auto& cpu = reg.counter("process_cpu_seconds_total", "user+system CPU seconds").get();
  auto& vusers = reg.gauge("voice_active_users", "users in voice channels").get();
  auto& vchans = reg.gauge("voice_active_channels", "voice channels with users").get();
  reg.on_collect([&rss, &cpu, &vusers, &vchans, &coord] {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    if (statm >> pages >> resident) rss.set(static_cast<double>(resident) * sysconf(_SC_PAGESIZE));
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    cpu.set_total(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
                  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    vusers.set(coord.active_voice_users());
    vchans.set(coord.active_voice_channels());
  });
}

void register_sfu_metrics(metrics::Registry& reg, sfu::SfuService& sfu) {
  auto& conns = reg.gauge("sfu_node_connections", "participant transports on this SFU node").get();
  auto& rooms =
      reg.gauge("sfu_active_voice_channels", "voice channels with a room on this node").get();
  auto& users = reg.gauge("sfu_active_voice_users", "participants in rooms on this node").get();
  auto& fwd =
      reg.counter("sfu_forwarded_packets_total", "RTP packets forwarded to subscribers").get();
  auto& fwd_b =
      reg.counter("sfu_forwarded_bytes_total", "RTP bytes forwarded to subscribers").get();
  auto& rx = reg.counter("sfu_received_packets_total", "UDP datagrams received").get();
  auto& nacks = reg.counter("sfu_nacks_total", "sequence numbers NACKed by subscribers").get();
  auto& nack_hits =
      reg.counter("sfu_nack_hits_total", "NACKs answered from the packet cache").get();
  auto& plis = reg.counter("sfu_plis_total", "PLI/FIR received from subscribers").get();
  auto& dropped =
      reg.counter("sfu_dropped_packets_total", "datagrams dropped, by reason", {"reason"});
  auto& rejected = reg.counter("sfu_rejected_tokens_total", "voice tokens refused on /voice").get();
  auto& not_selected =
      reg.counter("sfu_dropped_not_selected_total",
                  "audio packets not forwarded: publisher outside the last-N speakers")
          .get();
  auto& switches =
      reg.counter("sfu_slot_switches_total", "audio slots that got a new speaker (last-N)").get();
  auto& cpu =
      reg.counter("sfu_worker_cpu_seconds_total", "CPU time of each SFU worker", {"worker"});
  reg.on_collect([&, &sfu_ref = sfu] {
    auto st = sfu_ref.stats();
    conns.set(static_cast<double>(st.connections));
    rooms.set(static_cast<double>(st.rooms));
    users.set(static_cast<double>(st.participants));
    fwd.set_total(static_cast<double>(st.forwarded_packets));
    fwd_b.set_total(static_cast<double>(st.forwarded_bytes));
    rx.set_total(static_cast<double>(st.rx_packets));
    nacks.set_total(static_cast<double>(st.nacks));
    nack_hits.set_total(static_cast<double>(st.nack_hits));
    plis.set_total(static_cast<double>(st.plis));
    dropped.with({"malformed"}).set_total(static_cast<double>(st.dropped_malformed));
    dropped.with({"unknown_peer"}).set_total(static_cast<double>(st.dropped_unknown));
    dropped.with({"auth"}).set_total(static_cast<double>(st.dropped_auth));
    dropped.with({"send"}).set_total(static_cast<double>(st.dropped_send));
    dropped.with({"muted"}).set_total(static_cast<double>(st.dropped_muted));
    rejected.set_total(static_cast<double>(st.rejected_tokens));
    not_selected.set_total(static_cast<double>(st.dropped_not_selected));
    switches.set_total(static_cast<double>(st.slot_switches));
    for (std::size_t i = 0; i < st.worker_cpu_seconds.size(); ++i)
      cpu.with({std::to_string(i)}).set_total(st.worker_cpu_seconds[i]);
  });
}

// Raises the soft descriptor limit to the hard one: every connection costs a descriptor and
// the usual soft default (1024) is far below what one node serves. Returns the limit now.
long raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  rlim_t want = rl.rlim_max;
  if (want == RLIM_INFINITY) want = 1 << 20;  // Linux refuses more than fs.nr_open anyway
  if (rl.rlim_cur < want) {
    rlimit up{want, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl.rlim_cur = want;
  }
  spdlog::info("file descriptor limit {} (hard limit {})", static_cast<long>(rl.rlim_cur),
               rl.rlim_max == RLIM_INFINITY ? -1L : static_cast<long>(rl.rlim_max));
  return static_cast<long>(rl.rlim_cur);
}

// The connection cap leaves headroom under the descriptor limit for the database, UDP
// sockets, logs and the connections being shed at the cap.
int connection_cap(const Config& config, long fd_limit) {
  long headroom = std::max(64L, fd_limit / 8);
  long fit = std::max(16L, fd_limit - headroom);
  if (config.server.max_connections > 0) {
    if (config.server.max_connections > fit)
      spdlog::warn("server.max_connections={} exceeds what {} descriptors allow; using {}",
                   config.server.max_connections, fd_limit, fit);
    return static_cast<int>(std::min<long>(config.server.max_connections, fit));
  }
  return static_cast<int>(std::min<long>(fit, 1000000));
}

}  // namespace

int run_migrate(const Config& config) {
  auto store = store::open_store(config.effective_database_url(), 1);
  int n = store->migrate();
  spdlog::info("migrations applied: {} (schema version {})", n, store->schema_version());
  return 0;
}

int run_server(const Config& config) {
  long fd_limit = raise_fd_limit();
  if (config.server.roles != "all")
    spdlog::warn("server.roles={} requested; this build runs every role in one process",
                 config.server.roles);
  auto store = store::open_store(config.effective_database_url(), config.server.db_threads);
  int applied = store->migrate();
  spdlog::info("database {} ready (schema version {}, {} migrations applied)", store->backend(),
               store->schema_version(), applied);

  std::string secret = config.auth.token_secret.empty()
                           ? load_or_create_secret(config.server.data_dir, "token_secret")
                           : config.auth.token_secret;
  SnowflakeGenerator ids(config.server.node_id);
  metrics::Registry registry;
  auto bus = cluster::make_local_event_bus();
  auto coord = cluster::make_local_coordinator();
  auth::TokenSigner signer(secret);
  auth::AuthService auth(*store, ids, signer,
                         {config.auth.access_ttl, config.auth.refresh_ttl, config.auth.argon2_ops,
                          config.auth.argon2_mem_kib});
  chat::ChatService chat(*store, ids, *bus, *coord);
  voice::VoiceOptions vopts;
  vopts.mode = config.voice.mode;
  vopts.p2p_max_users = config.voice.p2p_max_users;
  vopts.sfu_return_delay = config.voice.sfu_return_delay;
  vopts.token_ttl = config.voice.token_ttl;
  vopts.turn_secret = config.turn.secret;
  vopts.turn_urls = split_list(config.turn.urls);
  vopts.stun_urls = split_list(config.turn.stun_urls);
  vopts.turn_ttl = config.turn.ttl;
  vopts.sfu_node_id = "node-" + std::to_string(config.server.node_id);
  voice::VoiceService voice(chat, *coord, signer, vopts);
  register_process_metrics(registry, *coord);
  auto& messages_created = registry.counter("messages_created_total", "messages created").get();
  int msg_sub = bus->subscribe([&messages_created](const cluster::Event& e) {
    if (e.type == "MESSAGE_CREATE") messages_created.inc();
  });

  int io_threads = config.server.io_threads > 0
                       ? config.server.io_threads
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  asio::io_context io(io_threads);
  sfu::SfuOptions sopts;
  sopts.node_id = vopts.sfu_node_id;
  sopts.workers = config.sfu.workers;
  sopts.port = static_cast<std::uint16_t>(config.sfu.port);
  sopts.announced_ip = config.sfu.announced_ip;
  sopts.bind_ip = config.sfu.bind_ip;
  sopts.max_forwarded_speakers = config.voice.max_forwarded_speakers;
  sfu::SfuService sfu(
      io.get_executor(), sopts,
      [&signer](const std::string& token, std::string& error) -> std::optional<sfu::VoiceIdentity> {
        auto check = signer.verify(token, "voice", std::time(nullptr));
        if (!check.claims) {
          error = check.error == auth::TokenError::expired ? "expired" : "invalid";
          return std::nullopt;
        }
        return sfu::VoiceIdentity{static_cast<std::uint64_t>(check.claims->user_id),
                                  static_cast<std::uint64_t>(check.claims->channel_id),
                                  check.claims->voice_session};
      },
      [&coord](const sfu::VoiceIdentity& who) -> std::optional<sfu::SessionGrant> {
        auto g = voice::voice_grant(*coord, static_cast<Id>(who.user), static_cast<Id>(who.channel),
                                    who.session);
        if (!g) return std::nullopt;
        return sfu::SessionGrant{g->may_speak};
      });
  try {
    sfu.start();
  } catch (const std::exception& e) {
    spdlog::error("cannot start the SFU: {}", e.what());
    return 1;
  }
  register_sfu_metrics(registry, sfu);
  // Access follows rights: rights changes end or restrict voice states (VoiceService), and a
  // voice state change re-checks that user's SFU sessions at once.
  int voice_sub = bus->subscribe([&voice, &sfu](const cluster::Event& e) {
    if (e.type == "VOICE_STATE_UPDATE") {
      if (e.subject_user_id) sfu.recheck_user(static_cast<std::uint64_t>(e.subject_user_id));
      return;
    }
    voice.on_event(e);
  });
  net::BlockingPool pool(config.server.db_threads);
  api::Api api({auth, chat, voice, *coord, *store, pool, registry, config});
  auto gw = std::make_shared<gateway::Gateway>(
      io.get_executor(),
      gateway::GatewayDeps{auth, chat, voice, *coord, *bus, pool, registry, config});
  gw->start();

  net::HttpServerOptions hopts;
  hopts.host = config.server.host;
  hopts.port = config.server.port;
  hopts.max_body_bytes = static_cast<std::size_t>(config.limits.max_body_bytes);
  hopts.max_connections = connection_cap(config, fd_limit);
  hopts.ws.max_frame_bytes = static_cast<std::size_t>(config.gateway.max_frame_bytes);
  hopts.ws.max_send_queue = static_cast<std::size_t>(config.gateway.max_send_queue);
  hopts.ws.max_send_bytes = static_cast<std::size_t>(config.server.ws_max_send_bytes);
  hopts.ws.identify_timeout_s = config.server.ws_identify_timeout;
  if (config.limits.enabled) {
    hopts.ws.frame_budget = config.limits.gateway.tokens;
    hopts.ws.frame_budget_seconds = config.limits.gateway.per_seconds;
    hopts.ws.unauthenticated_per_ip = config.limits.ws_unauthenticated_per_ip;
  }
  spdlog::info("connection cap {} (descriptor limit {})", hopts.max_connections, fd_limit);
  hopts.trusted_proxies = TrustedProxies::parse(config.server.trusted_proxies);
  net::HttpServer http(
      io.get_executor(), hopts, [&api](net::HttpRequest& r) { return api.handle(r); },
      [gw, &sfu](std::shared_ptr<net::WsConnection> c,
                 const net::HttpRequest& r) -> std::shared_ptr<net::WsListener> {
        if (r.path == "/voice") return sfu.open(std::move(c), r);
        if (r.path == "/gateway") return gw->open(std::move(c), r);
        return nullptr;
      });
  try {
    http.start();
  } catch (const std::exception& e) {
    spdlog::error("cannot listen on {}:{}: {}", config.server.host, config.server.port, e.what());
    gw->stop();
    return 1;
  }
  auto& http_conns =
      registry.gauge("http_connections", "open HTTP and WebSocket connections").get();
  registry.on_collect([&http_conns, &http] { http_conns.set(http.connections()); });

  std::string url = config.server.public_url.empty()
                        ? "http://" + config.server.host + ":" + std::to_string(http.port())
                        : config.server.public_url;
  std::string ws_base = url.rfind("https://", 0) == 0  ? "wss://" + url.substr(8)
                        : url.rfind("http://", 0) == 0 ? "ws://" + url.substr(7)
                                                       : url;
  while (!ws_base.empty() && ws_base.back() == '/') ws_base.pop_back();
  voice.set_sfu_url(ws_base + "/voice");
  spdlog::info("hype serving on {} (database {}, voice mode {})", url, store->backend(),
               config.voice.mode);
  std::printf("Hype is running at %s\n", url.c_str());
  std::fflush(stdout);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int sig) {
    spdlog::info("signal {}: shutting down", sig);
    http.stop();
    gw->stop();
    sfu.stop();
    // Give open connections a moment to receive their close frames.
    auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(300));
    t->async_wait([&io, t](boost::system::error_code) { io.stop(); });
  });
  // Every part keeps its state on strands, so the event loop can run on several threads.
  std::vector<std::thread> io_pool;
  for (int i = 1; i < io_threads; ++i) io_pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : io_pool) t.join();
  bus->unsubscribe(msg_sub);
  bus->unsubscribe(voice_sub);
  pool.stop();
  pool.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hype::app
