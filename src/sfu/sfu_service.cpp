#include "sfu/sfu_service.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/random.hpp"
#include "rtc/dtls_session.hpp"
#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/sdp_answer.hpp"
#include "rtc/sdp/sdp_validate.hpp"

namespace hype::sfu {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr int kOfferBatchMs = 100;
constexpr int kCloseDecode = 4002;
constexpr int kCloseNotIdentified = 4003;
constexpr int kCloseAuthFailed = 4004;
constexpr int kCloseReplaced = 4005;
constexpr int kCloseVoiceStateEnded = 4006;
constexpr auto kGrantSweep = std::chrono::seconds(1);

std::string id_str(std::uint64_t id) {
  return std::to_string(id);
}

std::string frame(std::string_view op, json::value d) {
  return json::serialize(json::object{{"op", op}, {"d", std::move(d)}});
}

bool parse_u64(const json::value* v, std::uint64_t& out) {
  if (!v) return false;
  if (v->is_string()) {
    auto& s = v->as_string();
    if (s.empty() || s.size() > 20) return false;
    std::uint64_t r = 0;
    for (char ch : s) {
      if (ch < '0' || ch > '9') return false;
      r = r * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    out = r;
    return true;
  }
  if (v->is_uint64()) return out = v->as_uint64(), true;
  if (v->is_int64() && v->as_int64() >= 0)
    return out = static_cast<std::uint64_t>(v->as_int64()), true;
  return false;
}

}  // namespace

struct Conn : net::WsListener, std::enable_shared_from_this<Conn> {
  struct Section {
    std::string mid;
    std::uint32_t ssrc = 0;
    std::uint64_t publisher = 0;
    std::uint8_t payload_type = 111;
    bool active = true;
    int audio_slot = -1;  // >= 0: an audio slot (last-N), `publisher` unused
  };

  std::weak_ptr<SfuService::Impl> svc;
  std::shared_ptr<net::WsConnection> ws;
  asio::steady_timer batch_timer;
  bool identified = false;
  bool replaced = false;
  bool closed = false;
  bool torn_down = false;  // its media session and room membership are gone
  bool may_speak = true;   // from the voice grant: false drops its audio in the worker
  VoiceIdentity who;
  int worker = -1;
  bool published = false;
  rtc::ice::IceCredentials local, remote;
  rtc::sdp::SessionDescription answer;  // base of every server offer
  std::vector<Section> sections;        // server-offered m-sections, in order
  std::vector<SubscriptionInfo> desired;
  std::vector<std::uint64_t> slot_users;  // audio slot index -> current source (0: none)
  std::string last_slots;                 // the last `slots` event sent
  bool timer_armed = false;
  std::chrono::steady_clock::time_point last_offer{};  // when the last server offer went out
  bool offer_in_flight = false;
  bool dirty = false;
  int offer_version = 0;

  Conn(asio::any_io_executor strand) : batch_timer(strand) {}
  void on_message(std::string_view text, bool is_text) override;
  void on_close() override;
  void send(std::string_view op, json::value d) { ws->send(frame(op, std::move(d))); }
};

struct SfuService::Impl : std::enable_shared_from_this<SfuService::Impl> {
  Impl(asio::any_io_executor ex, SfuOptions o, VerifyVoiceToken v, CheckVoiceGrant g)
      : strand(asio::make_strand(ex)),
        options(std::move(o)),
        verify(std::move(v)),
        grant(std::move(g)),
        sweep_timer(strand) {}

  asio::strand<asio::any_io_executor> strand;
  SfuOptions options;
  VerifyVoiceToken verify;
  CheckVoiceGrant grant;
  asio::steady_timer sweep_timer;
  bool stopping = false;
  std::shared_ptr<rtc::DtlsContext> dtls;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unordered_map<std::uint64_t, int> pinned;  // channel -> worker
  std::map<std::uint64_t, std::vector<std::shared_ptr<Conn>>> rooms;
  // Who speaks now, per channel (from the workers' speaking events): a client that connects
  // while people talk learns it at once instead of at their next change.
  std::map<std::uint64_t, std::set<std::uint64_t>> speaking_now;
  std::atomic<std::uint64_t> rejected{0};

  Conn* find(std::uint64_t channel, std::uint64_t user) {
    auto it = rooms.find(channel);
    if (it == rooms.end()) return nullptr;
    for (auto& c : it->second)
      if (c->who.user == user && !c->replaced) return c.get();
    return nullptr;
  }
  void broadcast(std::uint64_t channel, std::string_view op, const json::value& d,
                 const Conn* except = nullptr) {
    auto it = rooms.find(channel);
    if (it == rooms.end()) return;
    std::string f = frame(op, d);
    for (auto& c : it->second)
      if (c.get() != except && !c->replaced) c->ws->send(f);
  }
  int pick_worker(std::uint64_t channel) {
    if (auto it = pinned.find(channel); it != pinned.end()) return it->second;
    std::vector<int> load(workers.size(), 0);
    for (auto& [ch, w] : pinned) ++load[static_cast<std::size_t>(w)];
    int best = 0;
    for (std::size_t i = 1; i < load.size(); ++i)
      if (load[i] < load[static_cast<std::size_t>(best)]) best = static_cast<int>(i);
    pinned[channel] = best;
    return best;
  }

  void fail(Conn& c, int code, std::string_view err, std::string_view message) {
    c.send("error", json::object{{"code", err}, {"message", message}});
    c.ws->close(code, std::string(message));
  }

  void handle(const std::shared_ptr<Conn>& c, const std::string& text) {
    if (c->closed) return;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return fail(*c, kCloseDecode, "decode_error", "bad JSON");
    auto& o = v.as_object();
    auto* opv = o.if_contains("op");
    if (!opv || !opv->is_string()) return fail(*c, kCloseDecode, "decode_error", "missing op");
    std::string_view op = opv->as_string();
    json::object empty;
    const json::object& d =
        (o.if_contains("d") && o.at("d").is_object()) ? o.at("d").as_object() : empty;
    if (op == "heartbeat") return c->send("heartbeat_ack", nullptr);
    if (op == "identify") return identify(c, d);
    if (!c->identified) return fail(*c, kCloseNotIdentified, "not_identified", "identify first");
    if (op == "offer") return on_offer(c, d);
    if (op == "answer") {
      c->offer_in_flight = false;
      if (c->dirty) schedule_offer(c);
      return;
    }
    c->send("error", json::object{{"code", "unknown_op"}, {"message", "unknown op"}});
  }

  void identify(const std::shared_ptr<Conn>& c, const json::object& d) {
    if (c->identified)
      return fail(*c, kCloseAuthFailed, "already_identified", "already identified");
    auto* tok = d.if_contains("token");
    std::string error = "invalid";
    std::optional<VoiceIdentity> who;
    if (tok && tok->is_string()) who = verify(std::string(tok->as_string()), error);
    std::uint64_t channel = 0;
    if (who && parse_u64(d.if_contains("channel_id"), channel) && channel != who->channel) {
      who.reset();
      error = "wrong_channel";
    }
    std::optional<SessionGrant> granted;
    if (who && grant && !(granted = grant(*who))) {
      who.reset();
      error = "does not match your voice state (left, removed or superseded)";
    }
    if (!who) {
      rejected.fetch_add(1, std::memory_order_relaxed);
      return fail(*c, kCloseAuthFailed, "auth_failed", "voice token " + error);
    }
    if (Conn* old = find(who->channel, who->user)) {
      old->replaced = true;  // its close must not tear down the new session
      old->ws->close(kCloseReplaced, "replaced by a new connection");
    }
    c->identified = true;
    c->ws->set_authenticated();  // ends the identify deadline and the unauthenticated cap
    c->who = *who;
    c->may_speak = !granted || granted->may_speak;
    c->worker = pick_worker(who->channel);
    json::array others;
    auto& room = rooms[who->channel];
    for (auto& x : room)
      if (!x->replaced) others.push_back(json::value(id_str(x->who.user)));
    room.push_back(c);
    c->send("ready", json::object{{"user_id", id_str(who->user)},
                                  {"channel_id", id_str(who->channel)},
                                  {"node_id", options.node_id},
                                  {"participants", std::move(others)}});
    broadcast(who->channel, "participant_join", json::object{{"user_id", id_str(who->user)}},
              c.get());
    if (auto sp = speaking_now.find(who->channel); sp != speaking_now.end())
      for (std::uint64_t u : sp->second)
        if (u != who->user)
          c->send("speaking", json::object{{"user_id", id_str(u)}, {"speaking", true}});
  }

  void on_offer(const std::shared_ptr<Conn>& c, const json::object& d) {
    auto invalid = [&](std::string_view message) {
      c->send("error", json::object{{"code", "invalid_sdp"}, {"message", message}});
    };
    auto* sdpv = d.if_contains("sdp");
    if (!sdpv || !sdpv->is_string()) return invalid("sdp missing");
    auto offer = rtc::sdp::parse(std::string(sdpv->as_string()));
    if (!offer) return invalid(offer.error().message);
    Worker& w = *workers[static_cast<std::size_t>(c->worker)];
    rtc::sdp::AnswerOptions ao;
    // Checked before anything changes: a refused offer leaves the connection as it was, so
    // a corrected offer on the same socket starts from scratch.
    auto check = rtc::sdp::validate_offer(*offer, ao);
    if (!check) return invalid(check.error().message);
    const auto& m0 = offer->media[check->transport];
    rtc::ice::IceCredentials remote{m0.ice_ufrag, m0.ice_pwd};
    bool restart = c->published && remote.ufrag != c->remote.ufrag;
    rtc::ice::IceCredentials local =
        !c->published || restart ? rtc::ice::random_credentials() : c->local;
    ao.ice_ufrag = local.ufrag;
    ao.ice_pwd = local.pwd;
    ao.fingerprint = dtls->certificate().sdp_fingerprint();
    rtc::sdp::Candidate cand;
    cand.foundation = "1";
    cand.priority = 2130706431;
    cand.address = options.announced_ip;
    cand.port = w.port();
    ao.candidates.push_back(cand);
    ao.session_id = random_u64() >> 2;
    auto ans = rtc::sdp::create_answer(*offer, ao);
    if (!ans) return invalid(ans.error().message);
    c->local = local;
    if (!c->published) {
      SessionParams p;
      p.room = c->who.channel;
      p.participant = c->who.user;
      p.local = c->local;
      p.remote = remote;
      p.remote_fingerprint = m0.fingerprint;
      for (std::size_t i = 0; i < offer->media.size() && i < ans->media.size(); ++i) {
        const auto& om = offer->media[i];
        const auto& am = ans->media[i];
        if (am.rejected() || om.kind != "audio") continue;
        // The ids as answered: the ones the server offers' slot sections copy, too.
        for (auto& e : am.extmaps)
          if (e.id < 256) p.ext.assign(e.uri, static_cast<std::uint8_t>(e.id));
        if (!am.codecs.empty()) p.audio_payload_type = am.codecs.front().payload_type;
        if (om.direction != rtc::sdp::Direction::kSendRecv &&
            om.direction != rtc::sdp::Direction::kSendOnly)
          continue;
        if (om.ssrcs.empty() || am.codecs.empty()) continue;
        PublishedTrack t;
        t.ssrc = om.ssrcs.front().ssrc;
        t.kind = MediaKind::kAudio;
        t.payload_type = am.codecs.front().payload_type;
        t.clock_rate = am.codecs.front().clock_rate;
        t.mid = om.mid;
        p.tracks.push_back(std::move(t));
      }
      c->remote = remote;
      c->published = true;
      w.add_session(std::move(p));
      if (!c->may_speak) w.set_server_mute(c->who.channel, c->who.user, true);
    } else if (restart) {
      c->remote = remote;
      w.restart_ice(c->who.channel, c->who.user, c->local, remote);
    }
    // Server offers start from the client's own sections as answered (the rest are ours).
    c->answer = *ans;
    std::size_t own = 0;
    while (own < c->answer.media.size() &&
           (c->sections.empty() || c->answer.media[own].mid != c->sections.front().mid))
      ++own;
    c->answer.media.resize(own);
    c->send("answer", json::object{{"sdp", rtc::sdp::write(*ans)}});
    if (restart || !c->sections.empty()) {
      c->dirty = true;
      schedule_offer(c);
    }
  }

  void schedule_offer(const std::shared_ptr<Conn>& c) {
    c->dirty = true;
    if (c->timer_armed || c->offer_in_flight || !c->published) return;
    // Leading edge: the first change after a quiet spell goes out at once (a joining user's
    // first subscriptions: join time), later ones are batched to one offer per interval.
    auto next = c->last_offer + std::chrono::milliseconds(kOfferBatchMs);
    if (std::chrono::steady_clock::now() >= next) {
      send_offer(*c);
      return;
    }
    c->timer_armed = true;
    c->batch_timer.expires_at(next);
    c->batch_timer.async_wait([self = shared_from_this(), c](boost::system::error_code ec) {
      c->timer_armed = false;
      if (!ec && !c->closed) self->send_offer(*c);
    });
  }

  void send_offer(Conn& c) {
    // Reconcile sections (m-sections are never removed, only made inactive).
    for (auto& s : c.sections) {
      bool want = false;
      for (auto& d : c.desired) want |= d.out_ssrc == s.ssrc;
      s.active = want;
    }
    for (auto& d : c.desired) {
      bool have = false;
      for (auto& s : c.sections) have |= s.ssrc == d.out_ssrc;
      if (have) continue;
      std::string mid = d.slot >= 0 ? slot_mid(d.slot) : "s" + std::to_string(c.sections.size());
      c.sections.push_back({mid, d.out_ssrc, d.publisher, d.payload_type, true, d.slot});
    }
    const rtc::sdp::MediaSection* tmpl = nullptr;
    for (auto& m : c.answer.media)
      if (m.kind == "audio" && !m.rejected()) tmpl = &m;
    if (!tmpl) return;
    rtc::sdp::SessionDescription sd = c.answer;
    sd.session_version += static_cast<std::uint64_t>(++c.offer_version);
    for (auto& s : c.sections) {
      rtc::sdp::MediaSection m = *tmpl;
      m.mid = s.mid;
      m.ssrcs.clear();
      m.msids.clear();
      m.ssrc_groups.clear();
      m.rids.clear();
      m.simulcast.reset();
      m.direction = s.active ? rtc::sdp::Direction::kSendOnly : rtc::sdp::Direction::kInactive;
      if (s.active) {
        // A slot's stream is named after the slot: its speaker changes, see the slots event.
        std::string stream =
            s.audio_slot >= 0 ? "slot" + std::to_string(s.audio_slot) : "u" + id_str(s.publisher);
        std::string cname = s.audio_slot >= 0 ? "hype-sfu" : "hype-" + id_str(s.publisher);
        m.msids.push_back(stream + " " + stream + "-audio");
        m.ssrcs.push_back({s.ssrc, "cname", cname});
        m.ssrcs.push_back({s.ssrc, "msid", stream + " " + stream + "-audio"});
      }
      sd.media.push_back(std::move(m));
    }
    // A subsequent offer says actpass (RFC 8842 5.5, JSEP); the client's answer keeps the
    // DTLS role it already has (active), so nothing changes on the established association.
    for (auto& m : sd.media) m.setup = rtc::sdp::Setup::kActpass;
    sd.groups.clear();
    rtc::sdp::Group bundle{"BUNDLE", {}};
    for (auto& m : sd.media)
      if (!m.rejected()) bundle.mids.push_back(m.mid);
    sd.groups.push_back(std::move(bundle));
    json::array streams;
    for (auto& s : c.sections) {
      if (!s.active) continue;
      if (s.audio_slot >= 0)
        streams.push_back(json::object{
            {"mid", s.mid}, {"ssrc", s.ssrc}, {"kind", "audio"}, {"slot", s.audio_slot}});
      else
        streams.push_back(json::object{
            {"mid", s.mid}, {"ssrc", s.ssrc}, {"user_id", id_str(s.publisher)}, {"kind", "audio"}});
    }
    c.dirty = false;
    c.offer_in_flight = true;
    c.last_offer = std::chrono::steady_clock::now();
    c.send("offer", json::object{{"sdp", rtc::sdp::write(sd)},
                                 {"version", c.offer_version},
                                 {"streams", std::move(streams)}});
    send_slots(c);
  }

  // The `slots` event: who each offered audio slot carries now (full list, only on change).
  void send_slots(Conn& c) {
    json::array list;
    for (auto& s : c.sections) {
      if (s.audio_slot < 0) continue;
      auto i = static_cast<std::size_t>(s.audio_slot);
      std::uint64_t user = i < c.slot_users.size() ? c.slot_users[i] : 0;
      list.push_back(json::object{{"mid", s.mid},
                                  {"user_id", user ? json::value(id_str(user)) : json::value()}});
    }
    if (list.empty()) return;
    std::string f = frame("slots", json::object{{"slots", std::move(list)}});
    if (f == c.last_slots) return;
    c.last_slots = f;
    c.ws->send(f);
  }

  void on_worker_event(WorkerEvent e) {
    switch (e.type) {
      case WorkerEvent::Type::kSubscriptions: {
        Conn* c = find(e.room, e.participant);
        if (!c) return;
        c->desired = std::move(e.subscriptions);
        schedule_offer(c->shared_from_this());
        return;
      }
      case WorkerEvent::Type::kSlots: {
        Conn* c = find(e.room, e.participant);
        if (!c) return;
        c->slot_users.clear();
        for (auto& s : e.subscriptions) c->slot_users.push_back(s.publisher);
        send_slots(*c);
        return;
      }
      case WorkerEvent::Type::kSpeaking:
        if (e.flag)
          speaking_now[e.room].insert(e.participant);
        else if (auto sp = speaking_now.find(e.room); sp != speaking_now.end())
          sp->second.erase(e.participant);
        broadcast(e.room, "speaking",
                  json::object{{"user_id", id_str(e.participant)}, {"speaking", e.flag}});
        return;
      case WorkerEvent::Type::kActiveSpeaker:
        broadcast(e.room, "active_speaker",
                  json::object{{"user_id", e.participant ? json::value(id_str(e.participant))
                                                         : json::value(nullptr)}});
        return;
      case WorkerEvent::Type::kConnected:
        if (Conn* c = find(e.room, e.participant)) c->send("connected", json::object{});
        return;
      case WorkerEvent::Type::kDisconnected:
        if (Conn* c = find(e.room, e.participant)) c->send("disconnected", json::object{});
        return;
    }
  }

  void closed(const std::shared_ptr<Conn>& c) {
    c->closed = true;
    teardown(c);
  }

  // The access a session stood for is gone: tell the client why, and end its media and its
  // place in the room now rather than when the close handshake completes.
  void revoke(const std::shared_ptr<Conn>& c) {
    spdlog::info("sfu session ended user={} channel={}: voice state ended", c->who.user,
                 c->who.channel);
    c->send("error", json::object{{"code", "voice_state_ended"},
                                  {"message", "you are no longer in this voice channel"}});
    c->ws->close(kCloseVoiceStateEnded, "voice state ended");
    c->closed = true;
    teardown(c);
  }

  // Applies the grant as it stands now to an identified session.
  void recheck(const std::shared_ptr<Conn>& c) {
    if (!grant || !c->identified || c->closed || c->replaced) return;
    auto g = grant(c->who);
    if (!g) return revoke(c);
    if (g->may_speak == c->may_speak) return;
    c->may_speak = g->may_speak;
    if (c->published)
      workers[static_cast<std::size_t>(c->worker)]->set_server_mute(c->who.channel, c->who.user,
                                                                    !c->may_speak);
    broadcast(c->who.channel, "mute",
              json::object{{"user_id", id_str(c->who.user)}, {"server_mute", !c->may_speak}});
  }

  void recheck_where(const std::function<bool(const Conn&)>& pick) {
    std::vector<std::shared_ptr<Conn>> hit;
    for (auto& [ch, conns] : rooms)
      for (auto& c : conns)
        if (pick(*c)) hit.push_back(c);
    for (auto& c : hit) recheck(c);
  }

  // The safety net under recheck_user(): a lost event still ends access within a second.
  void arm_sweep() {
    if (!grant || stopping) return;
    sweep_timer.expires_after(kGrantSweep);
    sweep_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto s = weak.lock();
      if (ec || !s || s->stopping) return;
      s->recheck_where([](const Conn&) { return true; });
      s->arm_sweep();
    });
  }

  void teardown(const std::shared_ptr<Conn>& c) {
    if (c->torn_down) return;
    c->torn_down = true;
    c->batch_timer.cancel();
    if (!c->identified) return;
    auto it = rooms.find(c->who.channel);
    if (it != rooms.end()) std::erase(it->second, c);
    if (!c->replaced) {
      if (c->published)
        workers[static_cast<std::size_t>(c->worker)]->remove_session(c->who.channel, c->who.user);
      broadcast(c->who.channel, "participant_leave",
                json::object{{"user_id", id_str(c->who.user)}});
      if (auto sp = speaking_now.find(c->who.channel); sp != speaking_now.end())
        sp->second.erase(c->who.user);
    }
    if (it != rooms.end() && it->second.empty()) {
      rooms.erase(it);
      pinned.erase(c->who.channel);
      speaking_now.erase(c->who.channel);
    }
  }
};

void Conn::on_message(std::string_view text, bool is_text) {
  auto s = svc.lock();
  if (!s) return;
  if (!is_text) {
    asio::post(s->strand, [s, self = shared_from_this()] {
      s->fail(*self, kCloseDecode, "decode_error", "text frames only");
    });
    return;
  }
  // The socket reads on as frames are handled here, not faster (net::WsFrameTicket).
  asio::post(s->strand, [s, self = shared_from_this(), t = std::string(text),
                         done = net::WsFrameTicket(ws)] { s->handle(self, t); });
}

void Conn::on_close() {
  auto s = svc.lock();
  if (!s) return;
  asio::post(s->strand, [s, self = shared_from_this()] { s->closed(self); });
}

SfuService::SfuService(asio::any_io_executor ex, SfuOptions options, VerifyVoiceToken verify,
                       CheckVoiceGrant grant)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options), std::move(verify),
                                   std::move(grant))) {}

SfuService::~SfuService() {
  stop();
}

void SfuService::start() {
  auto cert = rtc::DtlsCertificate::generate("hype-sfu");
  if (!cert) throw std::runtime_error("sfu: certificate: " + cert.error().message);
  auto ctx = rtc::DtlsContext::create(cert.value());
  if (!ctx) throw std::runtime_error("sfu: DTLS context: " + ctx.error().message);
  impl_->dtls = ctx.value();
  int n = impl_->options.workers;
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::weak_ptr<Impl> weak = impl_;
  for (int i = 0; i < n; ++i) {
    WorkerOptions wo;
    wo.bind_ip = impl_->options.bind_ip;
    wo.announced_ip = impl_->options.announced_ip;
    wo.port = impl_->options.port == 0 ? 0 : static_cast<std::uint16_t>(impl_->options.port + i);
    wo.max_forwarded_speakers = impl_->options.max_forwarded_speakers;
    wo.speaker = impl_->options.speaker;
    auto w = std::make_unique<Worker>(i, wo, impl_->dtls, [weak](WorkerEvent e) {
      if (auto s = weak.lock())
        asio::post(s->strand,
                   [s, e = std::move(e)]() mutable { s->on_worker_event(std::move(e)); });
    });
    w->start();
    spdlog::info("sfu worker {} on udp {}:{} (announced {})", i, wo.bind_ip, w->port(),
                 wo.announced_ip);
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
    s->recheck_where([user](const Conn& c) { return c.who.user == user; });
  });
}

std::shared_ptr<net::WsListener> SfuService::open(std::shared_ptr<net::WsConnection> conn,
                                                  const net::HttpRequest&) {
  auto c = std::make_shared<Conn>(impl_->strand);
  c->svc = impl_;
  c->ws = std::move(conn);
  return c;
}

void SfuService::set_server_mute(std::uint64_t channel, std::uint64_t user, bool muted) {
  asio::post(impl_->strand, [s = impl_, channel, user, muted] {
    auto it = s->pinned.find(channel);
    if (it == s->pinned.end()) return;
    s->workers[static_cast<std::size_t>(it->second)]->set_server_mute(channel, user, muted);
    s->broadcast(channel, "mute", json::object{{"user_id", id_str(user)}, {"server_mute", muted}});
  });
}

SfuStats SfuService::stats() const {
  SfuStats st;
  st.rejected_tokens = impl_->rejected.load(std::memory_order_relaxed);
  for (auto& w : impl_->workers) {
    const auto& c = w->counters();
    c.add_to(st);
    auto ld = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    st.worker_cpu_seconds.push_back(static_cast<double>(ld(c.cpu_ns)) / 1e9);
  }
  return st;
}

std::vector<std::uint16_t> SfuService::worker_ports() const {
  std::vector<std::uint16_t> out;
  for (auto& w : impl_->workers) out.push_back(w->port());
  return out;
}

const std::string& SfuService::node_id() const {
  return impl_->options.node_id;
}

}  // namespace hype::sfu
