#include "app/node.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "app/secrets.hpp"
#include "cluster/metered_placement.hpp"
#include "cluster/redis_coordinator.hpp"
#include "cluster/redis_event_bus.hpp"
#include "cluster/redis_mode_coordinator.hpp"
#include "cluster/redis_placement.hpp"
#include "core/threads.hpp"

namespace hype::app {

namespace {

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

std::string token_secret(const Config& config) {
  return config.auth.token_secret.empty()
             ? load_or_create_secret(config.server.data_dir, "token_secret")
             : config.auth.token_secret;
}

bool mints_voice_tokens(const Config& config) {
  Roles r = parse_roles(config.server.roles);
  return r.api || r.gateway || r.analytics || config.auth.voice_public_key.empty();
}

// The configured public key, which must be the signer's own when this node has both.
auth::VoiceTokenVerifier make_voice_verifier(
    const Config& config, const std::unique_ptr<auth::VoiceTokenSigner>& signer) {
  if (config.auth.voice_public_key.empty()) return signer->verifier();
  auto key = auth::VoiceTokenVerifier::parse_key(config.auth.voice_public_key);
  if (!key) throw ConfigError("auth.voice_public_key", "must be 32 bytes in base64url");
  auth::VoiceTokenVerifier v(*key);
  if (signer && signer->verifier().key_text() != v.key_text())
    throw ConfigError("auth.voice_public_key",
                      "is not the public key of auth.voice_key (run `hype keys` on this node)");
  return v;
}

int io_thread_count(const Config& config) {
  return config.server.io_threads > 0 ? config.server.io_threads : available_cpus();
}

void register_process_metrics(metrics::Registry& reg) {
  auto& rss = reg.gauge("process_resident_memory_bytes", "resident memory").get();
  auto& cpu = reg.counter("process_cpu_seconds_total", "user+system CPU seconds").get();
  reg.on_collect([&rss, &cpu] {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    if (statm >> pages >> resident) rss.set(static_cast<double>(resident) * sysconf(_SC_PAGESIZE));
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    cpu.set_total(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
                  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  });
}

// The Redis event bus's counters: events this node could not send to the others, and events
// of other nodes it never received (pub/sub drops them while a connection is down).
void register_bus_metrics(metrics::Registry& reg, cluster::RedisEventBus& bus) {
  using Stats = cluster::RedisEventBusStats;
  struct Exported {
    const char* name;
    const char* help;
    std::uint64_t Stats::*field;
  };
  static constexpr Exported kExported[] = {
      {"cluster_events_published_total", "events sent to the other nodes", &Stats::published},
      {"cluster_events_publish_failed_total", "events not sent to the other nodes (dropped)",
       &Stats::publish_failed},
      {"cluster_events_publish_retried_total",
       "events sent again after Redis did not acknowledge them (stream: delayed, kept)",
       &Stats::publish_retried},
      {"cluster_events_duplicate_total",
       "events added to the stream twice by a retry (dropped here)", &Stats::duplicates},
      {"cluster_events_received_total",
       "events delivered here from Redis (on the stream: this node's own too)", &Stats::received},
      {"cluster_events_missed_total",
       "other nodes' events this node never received (sequence gaps)", &Stats::gaps},
      {"cluster_events_undecodable_total", "records on the event channel that did not decode",
       &Stats::undecodable},
      {"cluster_events_read_failed_total",
       "reads of the cluster event stream that failed (retried)", &Stats::read_failed},
  };
  std::vector<std::pair<metrics::Counter*, std::uint64_t Stats::*>> counters;
  for (const Exported& e : kExported)
    counters.emplace_back(&reg.counter(e.name, e.help).get(), e.field);
  reg.on_collect([counters = std::move(counters), b = &bus] {
    Stats s = b->stats();
    for (const auto& [counter, field] : counters) counter->set_total(static_cast<double>(s.*field));
  });
}

}  // namespace

Node::~Node() {
  // The backends use the Redis clients: they go first (members die in reverse order).
  bus.reset();
  modes.reset();
  placement.reset();
  coord.reset();
  redis_events.reset();
  redis.reset();
}

std::unique_ptr<auth::VoiceTokenSigner> make_voice_signer(const Config& config) {
  if (!mints_voice_tokens(config)) return nullptr;
  std::string secret = config.auth.voice_key.empty()
                           ? load_or_create_secret(config.server.data_dir, "voice_key")
                           : config.auth.voice_key;
  return std::make_unique<auth::VoiceTokenSigner>(auth::VoiceTokenSigner::seed_from_secret(secret));
}

Node::Node(const Config& c)
    : config(c),
      roles(parse_roles(c.server.roles)),
      fd_limit(raise_fd_limit()),
      node_id("node-" + std::to_string(c.server.node_id)),
      bus(cluster::make_local_event_bus()),
      coord(cluster::make_local_coordinator()),
      placement(cluster::make_local_placement()),
      modes(cluster::make_local_mode_coordinator(
          {c.voice.mode, c.voice.p2p_max_users,
           static_cast<std::int64_t>(c.voice.sfu_return_delay) * 1000})),
      signer(token_secret(c)),
      voice_signer(make_voice_signer(c)),
      voice_verifier(make_voice_verifier(c, voice_signer)),
      io_threads(io_thread_count(c)),
      io(io_threads) {
  if (!c.cluster.redis_url.empty()) {
    auto options = cluster::parse_redis_url(c.cluster.redis_url);
    if (!options)
      throw ConfigError("cluster.redis_url", "is not redis://[:password@]host[:port][/db]");
    redis = std::make_unique<cluster::RedisClient>(io.get_executor(), *options);
    redis->start();
    redis_events = std::make_unique<cluster::RedisClient>(io.get_executor(), *options);
    redis_events->start();
    cluster::RedisPlacementOptions po;
    po.nearby_regions = format_nearby_regions(
        parse_nearby_regions("cluster.nearby_regions", c.cluster.nearby_regions));
    placement = cluster::make_redis_placement(*redis, po);
    coord = cluster::make_redis_coordinator(*redis, {node_id});
    modes = cluster::make_redis_mode_coordinator(
        *redis, {c.voice.mode, c.voice.p2p_max_users,
                 static_cast<std::int64_t>(c.voice.sfu_return_delay) * 1000});
    // Events arrive on a connection of their own (pub/sub, or XREAD BLOCK on the stream).
    cluster::RedisEventBusOptions bo;
    if (c.cluster.event_history > 0) {
      bo.stream = "hype:{bus}:stream";
      bo.stream_max_len = static_cast<std::size_t>(c.cluster.event_history);
    }
    auto redis_bus = cluster::make_redis_event_bus(*redis, *redis_events, node_id, bo);
    register_bus_metrics(registry, *redis_bus);
    bus = std::move(redis_bus);
    spdlog::info(
        "cluster: events, SFU placement, voice states, voice mode, presence and rate limits "
        "on redis {}:{}",
        options->host, options->port);
  }
  placement = cluster::make_metered_placement(std::move(placement), registry);
  register_process_metrics(registry);
  tracer = std::make_unique<telemetry::Tracer>(
      telemetry::TracerOptions{.endpoint = c.telemetry.otlp_endpoint, .node = node_id}, registry);
  registry
      .gauge("hype_node_info",
             "this node's identity: always 1, labelled with its node id and region",
             {"node", "region"})
      .with({node_id, c.server.region})
      .set(1);
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

}  // namespace hype::app
