#include "app/sfu_role.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <ctime>

#include "voice/voice_service.hpp"

namespace hype::app {

namespace {

sfu::SfuOptions sfu_options(const Node& node) {
  const Config& config = node.config;
  sfu::SfuOptions o;
  o.node_id = node.node_id;
  o.workers = config.sfu.workers;
  o.port = static_cast<std::uint16_t>(config.sfu.port);
  o.announced_ip = config.sfu.announced_ip;
  o.bind_ip = config.sfu.bind_ip;
  o.max_forwarded_speakers = config.voice.max_forwarded_speakers;
  return o;
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

}  // namespace

SfuRole::SfuRole(Node& node)
    : node_(node),
      sfu_(
          node.io.get_executor(), sfu_options(node),
          [&signer = node.signer](const std::string& token,
                                  std::string& error) -> std::optional<sfu::VoiceIdentity> {
            auto check = signer.verify(token, "voice", std::time(nullptr));
            if (!check.claims) {
              error = check.error == auth::TokenError::expired ? "expired" : "invalid";
              return std::nullopt;
            }
            return sfu::VoiceIdentity{static_cast<std::uint64_t>(check.claims->user_id),
                                      static_cast<std::uint64_t>(check.claims->channel_id),
                                      check.claims->voice_session};
          },
          // LEFT SYNCHRONOUS: SfuService asks this on its signaling strand (identify, recheck,
          // a sweep each second), and its CheckVoiceGrant hook is a plain function. The
          // in-process Coordinator answers inline; before a Redis Coordinator goes in, the
          // hook must become awaitable (or read a per-node mirror fed by VOICE_STATE_UPDATE).
          [&coord =
               *node.coord](const sfu::VoiceIdentity& who) -> std::optional<sfu::SessionGrant> {
            auto g = voice::voice_grant(coord, static_cast<Id>(who.user),
                                        static_cast<Id>(who.channel), who.session);
            if (!g) return std::nullopt;
            return sfu::SessionGrant{g->may_speak};
          }) {}

SfuRole::~SfuRole() = default;

void SfuRole::start() {
  sfu_.start();
  register_sfu_metrics(node_.registry, sfu_);
  // A voice state change re-checks that user's SFU sessions at once.
  sub_ = node_.bus->subscribe([this](const cluster::Event& e) {
    if (e.type == cluster::EventType::voice_state_update && e.subject_user_id)
      sfu_.recheck_user(static_cast<std::uint64_t>(e.subject_user_id));
  });
}

void SfuRole::announce(const std::string& url) {
  node_.placement->announce({node_.node_id, url, ""});
  spdlog::info("sfu node {} takes channels at {}", node_.node_id, url);
}

void SfuRole::stop() {
  node_.bus->unsubscribe(sub_);
  // Called on the event loop (shutdown): the withdrawal is awaited there, not waited for.
  boost::asio::co_spawn(node_.io, node_.placement->async_withdraw(node_.node_id),
                        boost::asio::detached);
  sfu_.stop();
}

std::shared_ptr<net::WsListener> SfuRole::open(std::shared_ptr<net::WsConnection> c,
                                               const net::HttpRequest& r) {
  return sfu_.open(std::move(c), r);
}

}  // namespace hype::app
