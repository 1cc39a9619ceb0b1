#include "sfu/signaling_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "core/random.hpp"
#include "net/ws_envelope.hpp"
#include "rtc/sdp/sdp_answer.hpp"
#include "rtc/sdp/sdp_validate.hpp"

namespace hype::sfu {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr int kOfferBatchMs = 100;
// docs/protocol.md, "WebSocket close codes".
constexpr int kCloseDecode = 4002;
constexpr int kCloseNotIdentified = 4003;
constexpr int kCloseAuthFailed = 4004;
constexpr int kCloseReplaced = 4005;
constexpr int kCloseVoiceStateEnded = 4006;

std::string id_str(std::uint64_t id) {
  return std::to_string(id);
}

const char* kind_name(MediaKind k) {
  return k == MediaKind::kVideo ? "video" : "audio";
}

bool receives(const rtc::sdp::SessionDescription& own, MediaKind kind) {
  for (const auto& m : own.media)
    if (m.kind == kind_name(kind) && !m.rejected()) return true;
  return false;
}

}  // namespace

void describe_publisher(const rtc::sdp::SessionDescription& offer,
                        const rtc::sdp::SessionDescription& answer, SessionParams& p) {
  for (std::size_t i = 0; i < offer.media.size() && i < answer.media.size(); ++i) {
    const auto& om = offer.media[i];
    const auto& am = answer.media[i];
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
}

SignalingSession::SignalingSession(asio::any_io_executor strand, std::weak_ptr<SignalingHost> host,
                                   std::shared_ptr<net::WsConnection> ws)
    : host_(std::move(host)), ws_(std::move(ws)), strand_(strand), batch_timer_(strand) {}

void SignalingSession::on_message(std::string_view text, bool is_text) {
  auto h = host_.lock();
  if (!h) return;
  if (!is_text) {
    asio::post(strand_, [self = shared_from_this()] {
      self->fail(kCloseDecode, "decode_error", "text frames only");
    });
    return;
  }
  // The socket reads on as frames are handled here, not faster (net::WsFrameTicket).
  asio::post(strand_, [h, self = shared_from_this(), t = std::string(text),
                       done = net::WsFrameTicket(ws_)] { self->handle(*h, t); });
}

void SignalingSession::on_close() {
  auto h = host_.lock();
  if (!h) return;
  asio::post(strand_, [h, self = shared_from_this()] { self->closed_by_peer(*h); });
}

void SignalingSession::send(std::string_view op, const json::value& d) {
  ws_->send(net::frame(op, d));
}

void SignalingSession::send_frame(const std::string& frame) {
  ws_->send(frame);
}

void SignalingSession::fail(int code, std::string_view err, std::string_view message) {
  ws_->send(net::error_frame(err, message));
  ws_->close(code, std::string(message));
}

void SignalingSession::handle(SignalingHost& host, const std::string& text) {
  if (closed_) return;
  auto env = net::parse_envelope(text);
  if (!env) {
    bool no_op = env.error().code == net::kEnvelopeMissingOp;
    return fail(kCloseDecode, "decode_error", no_op ? "missing op" : "bad JSON");
  }
  const std::string& op = env->op;
  const json::object& d = env->d_object();
  if (op == "heartbeat") return send("heartbeat_ack", nullptr);
  if (op == "identify") return identify(host, d);
  if (!identified_) return fail(kCloseNotIdentified, "not_identified", "identify first");
  if (op == "offer") return on_offer(host, d);
  if (op == "answer") {
    offer_in_flight_ = false;
    if (dirty_) schedule_offer();
    return;
  }
  ws_->send(net::error_frame("unknown_op", "unknown op"));
}

void SignalingSession::identify(SignalingHost& host, const json::object& d) {
  if (identified_) return fail(kCloseAuthFailed, "already_identified", "already identified");
  auto* tok = d.if_contains("token");
  std::string error = "invalid";
  std::optional<VoiceIdentity> who;
  if (tok && tok->is_string()) who = host.verify_token(std::string(tok->as_string()), error);
  // channel_id is optional; one given must be the token's channel (an id, as a string or
  // a number).
  if (auto* ch = d.if_contains("channel_id"); who && ch && !ch->is_null()) {
    auto channel = net::id_field(ch, true);
    if (!channel || static_cast<std::uint64_t>(*channel) != who->channel) {
      who.reset();
      error = "wrong_channel";
    }
  }
  std::optional<SessionGrant> granted;
  if (who && !(granted = host.check_grant(*who))) {
    who.reset();
    error = "does not match your voice state (left, removed or superseded)";
  }
  if (!who) {
    host.count_rejected_token();
    return fail(kCloseAuthFailed, "auth_failed", "voice token " + error);
  }
  identified_ = true;
  ws_->set_authenticated();  // ends the identify deadline and the unauthenticated cap
  who_ = *who;
  may_speak_ = granted->may_speak;
  auto admission = host.admit(shared_from_this());
  worker_ = admission.worker;
  json::array others;
  for (auto u : admission.others) others.push_back(json::value(id_str(u)));
  send("ready", json::object{{"user_id", id_str(who_.user)},
                             {"channel_id", id_str(who_.channel)},
                             {"node_id", host.options().node_id},
                             {"participants", std::move(others)}});
  host.broadcast(who_.channel,
                 net::frame("participant_join", json::object{{"user_id", id_str(who_.user)}}),
                 this);
  for (std::uint64_t u : admission.speaking)
    if (u != who_.user) send("speaking", json::object{{"user_id", id_str(u)}, {"speaking", true}});
}

void SignalingSession::replace() {
  replaced_ = true;
  ws_->close(kCloseReplaced, "replaced by a new connection");
}

void SignalingSession::on_offer(SignalingHost& host, const json::object& d) {
  auto invalid = [&](std::string_view message) {
    ws_->send(net::error_frame("invalid_sdp", message));
  };
  auto* sdpv = d.if_contains("sdp");
  if (!sdpv || !sdpv->is_string()) return invalid("sdp missing");
  auto offer = rtc::sdp::parse(std::string(sdpv->as_string()));
  if (!offer) return invalid(offer.error().message);
  Worker& w = host.worker(worker_);
  rtc::sdp::AnswerOptions ao;
  // Checked before anything changes: a refused offer leaves the connection as it was, so
  // a corrected offer on the same socket starts from scratch.
  auto check = rtc::sdp::validate_offer(*offer, ao);
  if (!check) return invalid(check.error().message);
  const auto& m0 = offer->media[check->transport];
  rtc::ice::IceCredentials remote{m0.ice_ufrag, m0.ice_pwd};
  bool restart = published_ && remote.ufrag != remote_.ufrag;
  rtc::ice::IceCredentials local = !published_ || restart ? rtc::ice::random_credentials() : local_;
  ao.ice_ufrag = local.ufrag;
  ao.ice_pwd = local.pwd;
  ao.fingerprint = host.dtls_fingerprint();
  rtc::sdp::Candidate cand;
  cand.foundation = "1";
  cand.priority = 2130706431;
  cand.address = host.options().announced_ip;
  cand.port = w.port();
  ao.candidates.push_back(cand);
  ao.session_id = random_u64() >> 2;
  auto ans = rtc::sdp::create_answer(*offer, ao);
  if (!ans) return invalid(ans.error().message);
  local_ = local;
  if (!published_) {
    SessionParams p;
    p.room = who_.channel;
    p.participant = who_.user;
    p.local = local_;
    p.remote = remote;
    p.remote_fingerprint = m0.fingerprint;
    describe_publisher(*offer, *ans, p);
    remote_ = remote;
    published_ = true;
    w.add_session(std::move(p));
    if (!may_speak_) w.set_server_mute(who_.channel, who_.user, true);
  } else if (restart) {
    remote_ = remote;
    w.restart_ice(who_.channel, who_.user, local_, remote);
  }
  // Server offers start from the client's own sections as answered (the rest are ours).
  answer_ = *ans;
  std::size_t own = 0;
  while (own < answer_.media.size() &&
         (sections_.empty() || answer_.media[own].mid != sections_.front().mid))
    ++own;
  answer_.media.resize(own);
  send("answer", json::object{{"sdp", rtc::sdp::write(*ans)}});
  if (restart || !sections_.empty()) {
    dirty_ = true;
    schedule_offer();
  }
}

void SignalingSession::on_subscriptions(std::vector<SubscriptionInfo> desired) {
  desired_ = std::move(desired);
  schedule_offer();
}

void SignalingSession::schedule_offer() {
  dirty_ = true;
  if (timer_armed_ || offer_in_flight_ || !published_) return;
  // Leading edge: the first change after a quiet spell goes out at once (a joining user's
  // first subscriptions: join time), later ones are batched to one offer per interval.
  auto next = last_offer_ + std::chrono::milliseconds(kOfferBatchMs);
  if (std::chrono::steady_clock::now() >= next) {
    send_offer();
    return;
  }
  timer_armed_ = true;
  batch_timer_.expires_at(next);
  batch_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    self->timer_armed_ = false;
    if (!ec && !self->closed_) self->send_offer();
  });
}

std::vector<rtc::sdp::OutgoingStream> SignalingSession::outgoing_streams(
    const std::vector<Section>& sections) {
  std::vector<rtc::sdp::OutgoingStream> out;
  for (const auto& s : sections) {
    rtc::sdp::OutgoingStream o;
    o.mid = s.mid;
    o.kind = kind_name(s.kind);
    o.direction = s.active ? rtc::sdp::Direction::kSendOnly : rtc::sdp::Direction::kInactive;
    o.ssrc = s.ssrc;
    // A slot's stream is named after the slot: its speaker changes, see the slots event.
    o.msid_stream =
        s.audio_slot >= 0 ? "slot" + std::to_string(s.audio_slot) : "u" + id_str(s.publisher);
    o.msid_track = o.msid_stream + "-" + o.kind;
    o.cname = s.audio_slot >= 0 ? "hype-sfu" : "hype-" + id_str(s.publisher);
    out.push_back(std::move(o));
  }
  return out;
}

json::array SignalingSession::stream_list(const std::vector<Section>& sections) {
  json::array streams;
  for (const auto& s : sections) {
    if (!s.active) continue;
    const char* kind = kind_name(s.kind);
    if (s.audio_slot >= 0)
      streams.push_back(
          json::object{{"mid", s.mid}, {"ssrc", s.ssrc}, {"kind", kind}, {"slot", s.audio_slot}});
    else
      streams.push_back(json::object{
          {"mid", s.mid}, {"ssrc", s.ssrc}, {"user_id", id_str(s.publisher)}, {"kind", kind}});
  }
  return streams;
}

void SignalingSession::send_offer() {
  // Reconcile sections (m-sections are never removed, only made inactive).
  for (auto& s : sections_) {
    bool want = false;
    for (auto& d : desired_) want |= d.out_ssrc == s.ssrc;
    s.active = want;
  }
  for (auto& d : desired_) {
    bool have = false;
    for (auto& s : sections_) have |= s.ssrc == d.out_ssrc;
    // A kind the client negotiated no section for cannot be offered to it (no codec it
    // accepted): it does not get that stream rather than no offer at all.
    if (have || !receives(answer_, d.kind)) continue;
    std::string mid = d.slot >= 0 ? slot_mid(d.slot) : "s" + std::to_string(sections_.size());
    sections_.push_back({mid, d.out_ssrc, d.publisher, d.kind, d.payload_type, true, d.slot});
  }
  auto sd = rtc::sdp::build_server_offer(
      answer_, outgoing_streams(sections_),
      answer_.session_version + static_cast<std::uint64_t>(offer_version_ + 1));
  if (!sd) {
    // Nothing the client answered can carry these streams (it offered no such section):
    // it keeps what it has, and the next change tries again.
    spdlog::warn("sfu server offer for user={} not sent: {}", who_.user, sd.error().message);
    return;
  }
  ++offer_version_;
  dirty_ = false;
  offer_in_flight_ = true;
  last_offer_ = std::chrono::steady_clock::now();
  send("offer", json::object{{"sdp", rtc::sdp::write(*sd)},
                             {"version", offer_version_},
                             {"streams", stream_list(sections_)}});
  send_slots();
}

void SignalingSession::on_slots(const std::vector<SubscriptionInfo>& slots) {
  slot_users_.clear();
  for (auto& s : slots) slot_users_.push_back(s.publisher);
  send_slots();
}

// The `slots` event: who each offered audio slot carries now (full list, only on change).
void SignalingSession::send_slots() {
  json::array list;
  for (auto& s : sections_) {
    if (s.audio_slot < 0) continue;
    auto i = static_cast<std::size_t>(s.audio_slot);
    std::uint64_t user = i < slot_users_.size() ? slot_users_[i] : 0;
    list.push_back(json::object{{"mid", s.mid},
                                {"user_id", user ? json::value(id_str(user)) : json::value()}});
  }
  if (list.empty()) return;
  std::string f = net::frame("slots", json::object{{"slots", std::move(list)}});
  if (f == last_slots_) return;
  last_slots_ = f;
  ws_->send(f);
}

void SignalingSession::closed_by_peer(SignalingHost& host) {
  closed_ = true;
  teardown(host);
}

void SignalingSession::recheck() {
  auto h = host_.lock();
  if (!h || !identified_ || closed_ || replaced_) return;
  auto g = h->check_grant(who_);
  if (!g) return revoke(*h);
  if (g->may_speak == may_speak_) return;
  may_speak_ = g->may_speak;
  if (published_) h->worker(worker_).set_server_mute(who_.channel, who_.user, !may_speak_);
  h->broadcast(who_.channel, net::frame("mute", json::object{{"user_id", id_str(who_.user)},
                                                             {"server_mute", !may_speak_}}));
}

// The access a session stood for is gone: tell the client why, and end its media and its
// place in the room now rather than when the close handshake completes.
void SignalingSession::revoke(SignalingHost& host) {
  spdlog::info("sfu session ended user={} channel={}: voice state ended", who_.user, who_.channel);
  ws_->send(net::error_frame("voice_state_ended", "you are no longer in this voice channel"));
  ws_->close(kCloseVoiceStateEnded, "voice state ended");
  closed_ = true;
  teardown(host);
}

void SignalingSession::teardown(SignalingHost& host) {
  if (torn_down_) return;
  torn_down_ = true;
  batch_timer_.cancel();
  if (!identified_) return;
  if (!replaced_ && published_) host.worker(worker_).remove_session(who_.channel, who_.user);
  host.leave(shared_from_this());
}

}  // namespace hype::sfu
