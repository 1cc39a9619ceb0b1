#include "sfu/sfu_service.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "core/threads.hpp"
#include "net/ws_envelope.hpp"
#include "rtc/dtls_session.hpp"
#include "sfu/signaling_session.hpp"
#include "sfu/worker_placement.hpp"

namespace hype::sfu {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto kGrantSweep = std::chrono::seconds(1);

std::string id_str(std::uint64_t id) {
  return std::to_string(id);
}

}  // namespace

// The room table, the workers and the routing of their events to sessions; the per-connection
// protocol is SignalingSession's.
struct SfuService::Impl final : SignalingHost, std::enable_shared_from_this<SfuService::Impl> {
  Impl(asio::any_io_executor ex, SfuOptions o, VerifyVoiceToken v, CheckVoiceGrantAsync g,
       MakePlacement mp)
      : strand(asio::make_strand(ex)),
        opts(std::move(o)),
        verify(std::move(v)),
        grant(std::move(g)),
        make_placement(std::move(mp)),
        sweep_timer(strand) {}

  asio::strand<asio::any_io_executor> strand;
  SfuOptions opts;
  VerifyVoiceToken verify;
  CheckVoiceGrantAsync grant;
  MakePlacement make_placement;
  asio::steady_timer sweep_timer;
  bool stopping = false;
  std::shared_ptr<rtc::DtlsContext> dtls;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<WorkerPlacement> placement;
  std::map<std::uint64_t, std::vector<std::shared_ptr<SignalingSession>>> rooms;
  // Per worker: sessions admitted to it and not yet left (audio_ptime_for).
  std::vector<std::uint64_t> admitted;
  // Who speaks now, per channel (from the workers' speaking events): a client that connects
  // while people talk learns it at once instead of at their next change.
  std::map<std::uint64_t, std::set<std::uint64_t>> speaking_now;
  // Counters written off the workers (refused tokens): from several signaling strands, so
  // these take fetch_add rather than bump().
  SfuCounters service_counters;

  // SignalingHost
  const SfuOptions& options() const override { return opts; }
  std::string dtls_fingerprint() const override { return dtls->certificate().sdp_fingerprint(); }
  std::optional<VoiceIdentity> verify_token(const std::string& token, std::string& error) override {
    return verify(token, error);
  }
  void check_grant(const VoiceIdentity& who, GrantDone done) override {
    if (!grant) return done(GrantAnswer{SessionGrant{}});
    // Back on the strand: inline when the check answered there at once, posted otherwise.
    grant(who, [weak = weak_from_this(), done = std::move(done)](GrantAnswer answer) mutable {
      if (auto s = weak.lock())
        asio::dispatch(s->strand,
                       [done = std::move(done), answer = std::move(answer)] { done(answer); });
    });
  }
  void count_rejected_token() override {
    service_counters.rejected_tokens.fetch_add(1, std::memory_order_relaxed);
    service_counters.error_token.fetch_add(1, std::memory_order_relaxed);
  }
  SfuCounters& counters() override { return service_counters; }
  Worker& worker(int index) override { return *workers[static_cast<std::size_t>(index)]; }

  Admission admit(const std::shared_ptr<SignalingSession>& s) override {
    const VoiceIdentity& who = s->who();
    if (SignalingSession* old = find(who.channel, s->participant_id())) old->replace();
    Admission a;
    a.worker = placement->place(who.channel);
    a.worker_sessions = admitted[static_cast<std::size_t>(a.worker)]++;
    auto& room = rooms[who.channel];
    for (auto& x : room)
      if (!x->replaced() && !x->stream_connection()) a.others.push_back(x->who().user);
    room.push_back(s);
    if (auto sp = speaking_now.find(who.channel); sp != speaking_now.end())
      a.speaking.assign(sp->second.begin(), sp->second.end());
    return a;
  }

  void broadcast(std::uint64_t channel, const std::string& frame,
                 const SignalingSession* except = nullptr) override {
    auto it = rooms.find(channel);
    if (it == rooms.end()) return;
    for (auto& c : it->second)
      if (c.get() != except && !c->replaced()) c->send_frame(frame);
  }

  void leave(const std::shared_ptr<SignalingSession>& s) override {
    const VoiceIdentity& who = s->who();
    auto it = rooms.find(who.channel);
    if (it != rooms.end() && std::erase(it->second, s) > 0) {
      // Still placed: the channel is released below, once empty.
      if (auto w = placement->find(who.channel)) {
        auto& n = admitted[static_cast<std::size_t>(*w)];
        if (n > 0) --n;
      }
    }
    if (!s->replaced() && !s->stream_connection()) {
      broadcast(who.channel,
                net::frame("participant_leave", json::object{{"user_id", id_str(who.user)}}));
      if (auto sp = speaking_now.find(who.channel); sp != speaking_now.end())
        sp->second.erase(who.user);
    }
    if (it != rooms.end() && it->second.empty()) {
      rooms.erase(it);
      placement->release(who.channel);
      speaking_now.erase(who.channel);
      streams.erase(who.channel);
    }
  }

  // A member of the room by participant id (a user's voice connection, or its stream
  // connection under stream_participant(user)).
  SignalingSession* find(std::uint64_t channel, ParticipantId participant) {
    auto it = rooms.find(channel);
    if (it == rooms.end()) return nullptr;
    for (auto& c : it->second)
      if (c->participant_id() == participant && !c->replaced()) return c.get();
    return nullptr;
  }

  // ---- streams ----
  std::map<std::uint64_t, std::map<std::uint64_t, StreamInfo>> streams;  // channel -> user

  void set_stream(std::uint64_t channel, std::uint64_t user,
                  std::optional<std::string> codec) override {
    auto& ch = streams[channel];
    std::vector<std::uint64_t> viewers;
    if (codec) {
      ch[user] = StreamInfo{*codec, {}};
    } else {
      auto it = ch.find(user);
      if (it == ch.end()) return;
      for (std::uint64_t v : it->second.viewers)
        if (SignalingSession* c = find(channel, stream_participant(v))) c->forget_watch(user);
      ch.erase(it);
    }
    announce_streams(channel, user, codec.has_value(), viewers);
  }

  const StreamInfo* stream(std::uint64_t channel, std::uint64_t user) override {
    auto ch = streams.find(channel);
    if (ch == streams.end()) return nullptr;
    auto it = ch->second.find(user);
    return it == ch->second.end() ? nullptr : &it->second;
  }

  void set_watching(std::uint64_t channel, std::uint64_t streamer, std::uint64_t viewer,
                    bool on) override {
    auto ch = streams.find(channel);
    if (ch == streams.end()) return;
    auto it = ch->second.find(streamer);
    if (it == ch->second.end()) return;
    auto& v = it->second.viewers;
    bool has = std::find(v.begin(), v.end(), viewer) != v.end();
    if (on == has) return;
    if (on)
      v.push_back(viewer);
    else
      std::erase(v, viewer);
    announce_streams(channel, streamer, true, v);
  }

  std::string streams_frame(std::uint64_t channel) override {
    json::array list;
    if (auto ch = streams.find(channel); ch != streams.end()) {
      for (auto& [user, info] : ch->second) {
        json::array viewers;
        for (auto v : info.viewers) viewers.push_back(json::value(id_str(v)));
        list.push_back(json::object{{"user_id", id_str(user)}, {"viewer_ids", std::move(viewers)}});
      }
    }
    return net::frame("streams", json::object{{"streams", std::move(list)}});
  }

  void announce_streams(std::uint64_t channel, std::uint64_t user, bool live,
                        std::vector<std::uint64_t> viewers) {
    broadcast(channel, streams_frame(channel));
    if (opts.on_stream) opts.on_stream(channel, user, live, std::move(viewers));
  }

  void on_worker_event(WorkerEvent e) {
    switch (e.type) {
      case WorkerEvent::Type::kSubscriptions:
        if (SignalingSession* c = find(e.room, e.participant))
          c->on_subscriptions(std::move(e.subscriptions));
        return;
      case WorkerEvent::Type::kSlots:
        if (SignalingSession* c = find(e.room, e.participant)) c->on_slots(e.subscriptions);
        return;
      case WorkerEvent::Type::kSpeaking:
        if (e.flag)
          speaking_now[e.room].insert(e.participant);
        else if (auto sp = speaking_now.find(e.room); sp != speaking_now.end())
          sp->second.erase(e.participant);
        broadcast(e.room, net::frame("speaking", json::object{{"user_id", id_str(e.participant)},
                                                              {"speaking", e.flag}}));
        return;
      case WorkerEvent::Type::kActiveSpeaker:
        broadcast(
            e.room,
            net::frame("active_speaker",
                       json::object{{"user_id", e.participant ? json::value(id_str(e.participant))
                                                              : json::value(nullptr)}}));
        return;
      case WorkerEvent::Type::kConnected:
        if (SignalingSession* c = find(e.room, e.participant)) c->send("connected", json::object{});
        return;
      case WorkerEvent::Type::kDisconnected:
        if (SignalingSession* c = find(e.room, e.participant))
          c->send("disconnected", json::object{});
        return;
      case WorkerEvent::Type::kLayers:
        if (SignalingSession* c = find(e.room, e.participant)) c->send_layers(e.mid, e.layers);
        return;
    }
  }

  void recheck_where(const std::function<bool(const SignalingSession&)>& pick) {
    if (!grant) return;
    std::vector<std::shared_ptr<SignalingSession>> hit;
    for (auto& [ch, conns] : rooms)
      for (auto& c : conns)
        if (pick(*c)) hit.push_back(c);
    for (auto& c : hit) c->recheck();
  }

  // The safety net under recheck_user(): a lost event still ends access within a second.
  void arm_sweep() {
    if (!grant || stopping) return;
    sweep_timer.expires_after(kGrantSweep);
    sweep_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto s = weak.lock();
      if (ec || !s || s->stopping) return;
      s->recheck_where([](const SignalingSession&) { return true; });
      s->arm_sweep();
    });
  }
};

SfuService::SfuService(asio::any_io_executor ex, SfuOptions options, VerifyVoiceToken verify,
                       CheckVoiceGrantAsync grant, MakePlacement placement)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options), std::move(verify),
                                   std::move(grant), std::move(placement))) {}

SfuService::SfuService(asio::any_io_executor ex, SfuOptions options, VerifyVoiceToken verify,
                       CheckVoiceGrant grant, MakePlacement placement)
    : SfuService(std::move(ex), std::move(options), std::move(verify),
                 grant ? CheckVoiceGrantAsync(
                             [grant = std::move(grant)](const VoiceIdentity& who, GrantDone done) {
                               done(GrantAnswer{grant(who)});
                             })
                       : CheckVoiceGrantAsync(),
                 std::move(placement)) {}

SfuService::~SfuService() {
  stop();
}

void SfuService::start() {
  auto cert = rtc::DtlsCertificate::generate("hype-sfu");
  if (!cert) throw std::runtime_error("sfu: certificate: " + cert.error().message);
  auto ctx = rtc::DtlsContext::create(cert.value());
  if (!ctx) throw std::runtime_error("sfu: DTLS context: " + ctx.error().message);
  impl_->dtls = ctx.value();
  int n = impl_->opts.workers;
  if (n <= 0) n = available_cpus();
  if (impl_->opts.announced_port != 0 && n != 1)
    throw std::runtime_error("sfu: announced_port needs exactly one worker");
  impl_->placement =
      impl_->make_placement ? impl_->make_placement(n) : std::make_unique<LeastLoadedPlacement>(n);
  impl_->admitted.assign(static_cast<std::size_t>(n), 0);
  std::weak_ptr<Impl> weak = impl_;
  for (int i = 0; i < n; ++i) {
    WorkerOptions wo;
    wo.bind_ip = impl_->opts.bind_ip;
    wo.announced_ip = impl_->opts.announced_ip;
    wo.port = impl_->opts.port == 0 ? 0 : static_cast<std::uint16_t>(impl_->opts.port + i);
    wo.max_forwarded_speakers = impl_->opts.max_forwarded_speakers;
    wo.speaker = impl_->opts.speaker;
    auto w = std::make_unique<Worker>(i, wo, impl_->dtls, [weak](WorkerEvent e) {
      if (auto s = weak.lock())
        asio::post(s->strand,
                   [s, e = std::move(e)]() mutable { s->on_worker_event(std::move(e)); });
    });
    w->start();
    spdlog::info("sfu worker {} on udp {}:{} (announced {}:{})", i, wo.bind_ip, w->port(),
                 wo.announced_ip,
                 impl_->opts.announced_port != 0 ? impl_->opts.announced_port : w->port());
    impl_->workers.push_back(std::move(w));
  }
  asio::post(impl_->strand, [s = impl_] { s->arm_sweep(); });
}

void SfuService::stop() {
  asio::post(impl_->strand, [s = impl_] {
    s->stopping = true;
    s->sweep_timer.cancel();
  });
  for (auto& w : impl_->workers) w->stop();
}

void SfuService::recheck_user(std::uint64_t user) {
  asio::post(impl_->strand, [s = impl_, user] {
    s->recheck_where([user](const SignalingSession& c) { return c.who().user == user; });
  });
}

std::shared_ptr<net::WsListener> SfuService::open(std::shared_ptr<net::WsConnection> conn,
                                                  const net::HttpRequest&) {
  return std::make_shared<SignalingSession>(impl_->strand, impl_, std::move(conn));
}

void SfuService::set_server_mute(std::uint64_t channel, std::uint64_t user, bool muted) {
  asio::post(impl_->strand, [s = impl_, channel, user, muted] {
    auto w = s->placement ? s->placement->find(channel) : std::nullopt;
    if (!w) return;
    s->worker(*w).set_server_mute(channel, user, muted);
    s->broadcast(channel, net::frame("mute", json::object{{"user_id", id_str(user)},
                                                          {"server_mute", muted}}));
  });
}

void SfuService::rooms(std::function<void(RoomMap)> done) const {
  asio::post(impl_->strand, [s = impl_, done = std::move(done)] {
    RoomMap out;
    for (auto& room : s->rooms)
      for (auto& c : room.second)
        if (!c->replaced() && !c->stream_connection()) out[room.first].push_back(c->who().user);
    done(std::move(out));
  });
}

void SfuService::server_update(std::uint64_t channel, NodeRef to) {
  asio::post(impl_->strand, [s = impl_, channel, to = std::move(to)] {
    s->broadcast(channel, net::frame("server_update",
                                     json::object{{"channel_id", id_str(channel)},
                                                  {"sfu", json::object{{"id", to.id},
                                                                       {"url", to.url},
                                                                       {"region", to.region}}}}));
  });
}

void SfuService::release_room(std::uint64_t channel, NodeRef to, std::chrono::milliseconds grace) {
  server_update(channel, std::move(to));
  asio::post(impl_->strand, [s = impl_, channel, grace] {
    auto timer = std::make_shared<asio::steady_timer>(s->strand, grace);
    timer->async_wait([s, channel, timer](boost::system::error_code ec) {
      if (ec || s->stopping) return;
      auto it = s->rooms.find(channel);
      if (it == s->rooms.end()) return;
      auto conns = it->second;  // end_moved() leaves the room: iterate over a copy
      for (auto& c : conns) c->end_moved(*s);
    });
  });
}

SfuStats SfuService::stats() const {
  SfuStats st;
  impl_->service_counters.add_to(st);
  for (auto& w : impl_->workers) {
    st.per_worker.push_back(w->counters().snapshot());
    const SfuCounterValues& one = st.per_worker.back();
#define HYPE_SFU_SUM_FIELD(name, kind, prom, label, help) st.name += one.name;
    HYPE_SFU_COUNTERS(HYPE_SFU_SUM_FIELD)
#undef HYPE_SFU_SUM_FIELD
  }
  return st;
}

std::vector<std::uint16_t> SfuService::worker_ports() const {
  std::vector<std::uint16_t> out;
  for (auto& w : impl_->workers) out.push_back(w->port());
  return out;
}

const std::string& SfuService::node_id() const {
  return impl_->opts.node_id;
}

int audio_ptime_for(const SfuOptions& options, std::uint64_t participants) {
  const int ptime = options.audio_ptime_ms;
  const bool busy = options.audio_ptime_busy_at > 0 &&
                    participants >= static_cast<std::uint64_t>(options.audio_ptime_busy_at);
  return busy && ptime > 0 && ptime < 20 ? 20 : ptime;
}

}  // namespace hype::sfu
