#include "app/sfu_role.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>

#include "sfu/sfu_metrics.hpp"
#include "voice/voice_service.hpp"
#include "wire/events.hpp"

namespace hype::app {

namespace {

sfu::SfuOptions sfu_options(Node& node, voice::StreamReporter& streams) {
  const Config& config = node.config;
  sfu::SfuOptions o;
  o.node_id = node.node_id;
  o.workers = config.sfu.workers;
  o.port = static_cast<std::uint16_t>(config.sfu.port);
  o.announced_ip = config.sfu.announced_ip;
  o.announced_port = static_cast<std::uint16_t>(config.sfu.announced_port);
  o.bind_ip = config.sfu.bind_ip;
  o.audio_red = config.sfu.audio_red;
  o.audio_nack = config.sfu.audio_nack;
  o.audio_ptime_ms = config.sfu.audio_ptime;
  o.audio_ptime_busy_at = config.sfu.audio_ptime_busy_at;
  o.max_forwarded_speakers = config.voice.max_forwarded_speakers;
  o.quality = &node.quality;
  o.tracer = node.tracer.get();
  // STREAM_UPDATE for the members who see the channel: queued, published from the event loop.
  o.on_stream = [&streams](std::uint64_t channel, std::uint64_t user, bool live,
                           std::vector<std::uint64_t> viewers) {
    streams.report(static_cast<Id>(channel), static_cast<Id>(user), live,
                   std::vector<Id>(viewers.begin(), viewers.end()));
  };
  return o;
}

}  // namespace

SfuRole::SfuRole(Node& node)
    : node_(node),
      heartbeat_strand_(boost::asio::make_strand(node.io)),
      streams_(node.io.get_executor(), *node.coord, *node.bus, wire::encode_event_body),
      sfu_(
          node.io.get_executor(), sfu_options(node, streams_),
          // Ed25519 voice tokens (this node holds at most the public key), minted for this
          // node: a token placed on another node does not open a session here.
          [&verifier = node.voice_verifier, &me = node.node_id](
              const std::string& token, std::string& error) -> std::optional<sfu::VoiceIdentity> {
            auto check = verifier.verify(token, "voice", std::time(nullptr));
            if (!check.claims) {
              error = check.error == auth::TokenError::expired ? "expired" : "invalid";
              return std::nullopt;
            }
            if (check.claims->node != me) {
              error = "is for another SFU node";
              return std::nullopt;
            }
            return sfu::VoiceIdentity{static_cast<std::uint64_t>(check.claims->user_id),
                                      static_cast<std::uint64_t>(check.claims->channel_id),
                                      check.claims->voice_session};
          },
          // Asked on the signaling strand (identify, recheck, the sweep each second): awaited
          // on the event loop, never blocking it (with Redis it is a round trip). A state
          // that cannot be read is `unknown`: identify says try again, a session keeps going.
          [&coord = *node.coord, ex = node.io.get_executor()](const sfu::VoiceIdentity& who,
                                                              sfu::GrantDone done) {
            boost::asio::co_spawn(
                ex,
                voice::async_voice_grant(coord, static_cast<Id>(who.user),
                                         static_cast<Id>(who.channel), who.session),
                [done = std::move(done)](const std::exception_ptr& e, voice::VoiceGrantCheck g) {
                  sfu::GrantAnswer answer;
                  if (e) {
                    answer.unknown = true;
                  } else {
                    if (g.grant)
                      answer.grant = sfu::SessionGrant{g.grant->may_speak, g.grant->may_stream};
                    answer.generation = std::move(g.generation);
                  }
                  done(answer);
                });
          }) {}

SfuRole::~SfuRole() = default;

void SfuRole::start() {
  sfu_.start();
  health_ = &sfu::register_sfu_metrics(node_.registry, [&sfu = sfu_] { return sfu.stats(); });
  health_->set(1);
  lease_lost_ = &node_.registry
                     .counter("sfu_leases_lost_total",
                              "rooms this node released because their channel was placed on "
                              "another node while this one was cut off")
                     .get();
  // A voice state change re-checks that user's SFU sessions at once.
  sub_ = node_.bus->subscribe([this](const cluster::Event& e) {
    if (e.type == cluster::EventType::voice_state_update && e.subject_user_id)
      sfu_.recheck_user(static_cast<std::uint64_t>(e.subject_user_id));
  });
}

void SfuRole::announce(const std::string& url) {
  url_ = url;
  // On the event loop, never blocking (a Redis placement answers there): the first heartbeat
  // now, then one a second with this node's load.
  heartbeat_ = std::make_unique<boost::asio::steady_timer>(heartbeat_strand_);
  boost::asio::co_spawn(heartbeat_strand_, heartbeats(), boost::asio::detached);
  spdlog::info("sfu node {} takes channels at {}", node_.node_id, url);
}

cluster::SfuNode SfuRole::describe() const {
  return {node_.node_id,
          url_,
          node_.config.server.region,
          node_.config.sfu.capacity,
          static_cast<int>(sfu_.stats().participants),
          draining_.load()};
}

void SfuRole::drain(std::chrono::milliseconds limit, std::function<void()> done) {
  draining_ = true;
  boost::asio::co_spawn(heartbeat_strand_, drain_rooms(limit, std::move(done)),
                        boost::asio::detached);
}

// (Written plainly for GCC 12's coroutines: no temporaries or structured bindings across a
// co_await, no try block holding one, the timer a member.)
boost::asio::awaitable<void> SfuRole::drain_rooms(std::chrono::milliseconds limit,
                                                  std::function<void()> done) {
  using namespace std::chrono_literals;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  co_await move_rooms();
  // Clients connect to the new node, then close this one's connections (after their linger).
  drain_timer_ = std::make_unique<boost::asio::steady_timer>(heartbeat_strand_);
  while (std::chrono::steady_clock::now() < deadline && participants() > 0) {
    drain_timer_->expires_after(200ms);
    boost::system::error_code ec;
    co_await drain_timer_->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  spdlog::info("sfu node {} drained ({} participants left)", node_.node_id, participants());
  boost::asio::post(node_.io, std::move(done));
}

std::uint64_t SfuRole::participants() const {
  return sfu_.stats().participants;
}

boost::asio::awaitable<void> SfuRole::move_rooms() {
  std::string failed;
  try {
    // Draining: no new channels here.
    cluster::SfuNode me = describe();
    co_await node_.placement->async_announce(std::move(me));
  } catch (const std::exception& e) {
    failed = e.what();
  }
  if (!failed.empty()) spdlog::warn("sfu node {} drain: {}", node_.node_id, failed);
  sfu::SfuService::RoomMap rooms = co_await rooms_now();
  std::vector<std::uint64_t> channels;
  channels.reserve(rooms.size());
  for (const auto& room : rooms) channels.push_back(room.first);
  int moved = 0;
  for (std::uint64_t channel : channels) {
    std::optional<cluster::Placed> to;
    try {
      std::optional<std::string> region = node_.config.server.region;
      std::string from = node_.node_id;
      to = co_await node_.placement->async_move(static_cast<Id>(channel), std::move(from),
                                                std::move(region));
    } catch (const std::exception& e) {
      spdlog::warn("sfu node {} drain: channel {} not moved: {}", node_.node_id, channel, e.what());
    }
    if (!to) continue;  // no other node: it stays here until the deadline
    ++moved;
    const std::vector<std::uint64_t>& users = rooms[channel];
    cluster::Event e;
    e.type = cluster::EventType::voice_server_update;
    e.channel_id = static_cast<Id>(channel);
    e.user_ids.assign(users.begin(), users.end());
    e.data = wire::encode_event_body(
        chat::ServerChange{0, to->channel_id, to->node.id, to->node.url, to->node.region});
    node_.bus->publish(e);
    sfu_.server_update(channel, {to->node.id, to->node.url, to->node.region});
  }
  spdlog::info("sfu node {} draining: {} of {} channels moved to other nodes", node_.node_id, moved,
               channels.size());
}

boost::asio::awaitable<sfu::SfuService::RoomMap> SfuRole::rooms_now() {
  co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                 void(sfu::SfuService::RoomMap)>(
      [this](auto handler) {
        // The coroutine resumes on its own strand, not on the SFU's signaling strand.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        sfu_.rooms([h, strand = heartbeat_strand_](sfu::SfuService::RoomMap m) {
          boost::asio::post(strand, [h, m = std::move(m)]() mutable { (*h)(std::move(m)); });
        });
      },
      boost::asio::use_awaitable);
}

// (Written plainly for GCC 12's coroutines, as drain_rooms.)
boost::asio::awaitable<void> SfuRole::check_leases() {
  using namespace std::chrono_literals;
  sfu::SfuService::RoomMap rooms = co_await rooms_now();
  if (rooms.empty()) co_return;
  std::vector<Id> channels;
  channels.reserve(rooms.size());
  for (const auto& room : rooms) channels.push_back(static_cast<Id>(room.first));
  std::vector<cluster::Placed> lost;
  std::string failed;
  try {
    std::string me = node_.node_id;
    lost = co_await node_.placement->async_claim(std::move(me), std::move(channels));
  } catch (const std::exception& e) {
    failed = e.what();  // Redis unreachable: nothing can have moved either; media goes on
  }
  if (!failed.empty()) co_return;
  for (const cluster::Placed& p : lost) {
    spdlog::warn("sfu node {}: channel {} is on node {} now (epoch {}): releasing it here",
                 node_.node_id, p.channel_id, p.node.id, p.epoch);
    if (lease_lost_) lease_lost_->inc();
    sfu_.release_room(static_cast<std::uint64_t>(p.channel_id),
                      {p.node.id, p.node.url, p.node.region}, 2s);
  }
}

boost::asio::awaitable<void> SfuRole::heartbeats() {
  using namespace std::chrono_literals;
  auto last_warning = std::chrono::steady_clock::time_point{};
  while (!stopping_) {
    std::string failed;
    bool drain_asked = false;
    try {
      drain_asked = co_await node_.placement->async_announce(describe());
    } catch (const std::exception& e) {
      failed = e.what();
    }
    if (drain_asked && !draining_ && drain_requested_) {
      spdlog::info("sfu node {}: drain requested through the cluster (hype sfu drain)",
                   node_.node_id);
      boost::asio::post(node_.io, drain_requested_);
    }
    auto now = std::chrono::steady_clock::now();
    if (!failed.empty() && now - last_warning > 10s) {
      spdlog::warn("sfu node {}: heartbeat failed: {}", node_.node_id, failed);
      last_warning = now;
    }
    if (failed.empty() && !stopping_ && !draining_) co_await check_leases();
    if (stopping_) break;
    heartbeat_->expires_after(1s);
    boost::system::error_code ec;
    co_await heartbeat_->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  // After the last heartbeat, so that none lands after it and registers the node again.
  co_await node_.placement->async_withdraw(node_.node_id);
}

void SfuRole::stop() {
  if (health_) health_->set(0);
  node_.bus->unsubscribe(sub_);
  stopping_ = true;
  // Called on the event loop (shutdown): the withdrawal is awaited there, not waited for. The
  // heartbeat loop withdraws the node when it ends; without one, withdraw here.
  if (heartbeat_)
    boost::asio::post(heartbeat_strand_, [t = heartbeat_.get()] { t->cancel(); });
  else
    boost::asio::co_spawn(node_.io, node_.placement->async_withdraw(node_.node_id),
                          boost::asio::detached);
  sfu_.stop();
}

std::shared_ptr<net::WsListener> SfuRole::open(std::shared_ptr<net::WsConnection> c,
                                               const net::HttpRequest& r) {
  return sfu_.open(std::move(c), r);
}

}  // namespace hype::app
