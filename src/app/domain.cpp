#include "app/domain.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "voice/metered_event_log.hpp"
#include "voice/store_event_log.hpp"
#include "wire/events.hpp"

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

std::unique_ptr<store::Store> open_and_migrate(const Config& config) {
  auto store = store::open_store(config.effective_database_url(), config.server.db_threads);
  int applied = store->migrate();
  spdlog::info("database {} ready (schema version {}, {} migrations applied)", store->backend(),
               store->schema_version(), applied);
  return store;
}

voice::VoiceOptions voice_options(const Config& config) {
  voice::VoiceOptions v;
  v.mode = config.voice.mode;
  v.p2p_max_users = config.voice.p2p_max_users;
  v.sfu_return_delay = config.voice.sfu_return_delay;
  v.token_ttl = config.voice.token_ttl;
  v.turn_secret = config.turn.secret;
  v.turn_urls = split_list(config.turn.urls);
  v.stun_urls = split_list(config.turn.stun_urls);
  v.turn_ttl = config.turn.ttl;
  v.region = config.server.region;
  v.nearby_regions = parse_nearby_regions("cluster.nearby_regions", config.cluster.nearby_regions);
  return v;
}

}  // namespace

Domain::Domain(Node& n)
    : node(n),
      store(open_and_migrate(n.config)),
      events(voice::make_metered_event_log(voice::make_store_event_log(*store), n.registry)),
      ids(n.config.server.node_id),
      auth(*store, ids, n.signer,
           {n.config.auth.access_ttl, n.config.auth.refresh_ttl, n.config.auth.argon2_ops,
            n.config.auth.argon2_mem_kib}),
      chat(*store, ids, *n.bus, *n.coord, wire::encode_event_body),
      voice(chat, *n.coord, *n.placement, *n.modes, *n.voice_signer, voice_options(n.config),
            {events.get(), &ids}),
      pool(n.config.server.db_threads),
      ticker_(asio::make_strand(n.io)),
      voice_users_(
          n.registry.gauge("voice_active_users", "seed: active users. Users in voice channels")
              .get()),
      voice_channels_(
          n.registry
              .gauge("voice_active_channels", "seed: active channels. Voice channels with users")
              .get()) {}

Domain::~Domain() = default;

void Domain::start() {
  auto& created = node.registry.counter("messages_created_total", "messages created").get();
  msg_sub_ = node.bus->subscribe([&created](const cluster::Event& e) {
    if (e.type == cluster::EventType::message_create) created.inc();
  });
  // Access follows rights: membership, role and channel changes end or restrict voice states.
  // (VOICE_STATE_UPDATE goes to the SFU role, which re-checks that user's sessions.)
  voice_sub_ = node.bus->subscribe([this](const cluster::Event& e) {
    if (e.type != cluster::EventType::voice_state_update) voice.on_event(e);
  });
  tick();
}

void Domain::stop() {
  node.bus->unsubscribe(msg_sub_);
  node.bus->unsubscribe(voice_sub_);
  asio::post(ticker_.get_executor(), [this] {
    stopped_ = true;
    ticker_.cancel();
  });
}

// Once a second, on the blocking pool (the ModeCoordinator and Coordinator calls may wait on
// a shared store): channels whose SFU return delay ran out go back to P2P (VOICE_MODE_UPDATE),
// and the voice gauges are refreshed, so /metrics never asks the Coordinator on the event loop.
void Domain::tick() {
  if (stopped_) return;
  asio::post(pool.executor(), [this] {
    try {
      node.coord->keepalive();  // this node's gateway sessions keep counting (presence)
      voice.tick();
      voice_users_.set(node.coord->active_voice_users());
      voice_channels_.set(node.coord->active_voice_channels());
    } catch (const std::exception& ex) {
      spdlog::warn("voice tick failed: {}", ex.what());
    }
  });
  ticker_.expires_after(std::chrono::seconds(1));
  ticker_.async_wait([this](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

}  // namespace hype::app
