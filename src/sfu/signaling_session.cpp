#include "sfu/signaling_session.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
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
constexpr int kCloseTryAgain = 4012;        // the voice state could not be read now (Redis down)
constexpr std::size_t kMaxHeldFrames = 16;  // frames sent before identify's answer
constexpr std::size_t kMaxSimulcastLayers = 3;

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
                        const rtc::sdp::SessionDescription& answer, SessionParams& p, bool stream) {
  bool have_video_codecs = false;
  for (std::size_t i = 0; i < offer.media.size() && i < answer.media.size(); ++i) {
    const auto& om = offer.media[i];
    const auto& am = answer.media[i];
    if (am.rejected() || (om.kind != "audio" && om.kind != "video")) continue;
    // The ids as answered (one map per BUNDLE transport): the ones the server offers' sections
    // copy, too.
    for (auto& e : am.extmaps)
      if (e.id < 256) p.ext.assign(e.uri, static_cast<std::uint8_t>(e.id));
    if (am.codecs.empty()) continue;
    auto rtx_for = [&](std::uint8_t pt) -> std::uint8_t {
      for (const auto& c : am.codecs)
        if (c.rtx_apt() == pt) return c.payload_type;
      return 0;
    };
    // Audio: Opus, maybe with RED listed first (rtc::sdp::create_answer puts it there).
    const rtc::sdp::Codec* primary = &am.codecs.front();
    std::uint8_t red_pt = 0;
    if (om.kind == "audio" && primary->is("red") && am.codecs.size() > 1) {
      red_pt = primary->payload_type;
      primary = &am.codecs[1];
    }
    if (om.kind == "audio") {
      p.audio_payload_type = primary->payload_type;
      p.audio_red_payload_type = red_pt;
    } else if (!have_video_codecs) {
      have_video_codecs = true;
      for (const auto& c : am.codecs)
        if (!c.is("rtx"))
          p.video_codecs.push_back({c.name, c.payload_type, rtx_for(c.payload_type)});
    }
    if (om.direction != rtc::sdp::Direction::kSendRecv &&
        om.direction != rtc::sdp::Direction::kSendOnly)
      continue;
    // Simulcast (RFC 8853): the layers as answered (a=simulcast recv), in the offer's order,
    // which is the sender's encodings' order: lowest quality first (docs/protocol.md).
    std::vector<std::string> rids;
    if (om.kind == "video" && am.simulcast) {
      for (const auto& alternatives : am.simulcast->recv) {
        if (alternatives.empty()) continue;
        std::string_view r = alternatives.front();
        if (!r.empty() && r.front() == '~') r.remove_prefix(1);
        if (!r.empty() && rids.size() < kMaxSimulcastLayers) rids.emplace_back(r);
      }
    }
    if (om.ssrcs.empty() && rids.empty()) continue;
    // A voice connection publishes its microphone only; a stream connection its screen.
    if (om.kind == "video" && !stream) continue;
    const auto& codec = *primary;
    PublishedTrack t;
    t.ssrc = om.ssrcs.empty() ? 0 : om.ssrcs.front().ssrc;
    t.kind = om.kind == "video" ? MediaKind::kVideo : MediaKind::kAudio;
    t.payload_type = codec.payload_type;
    t.clock_rate = codec.clock_rate;
    t.mid = om.mid;
    t.codec = codec.name;
    t.source = stream ? TrackSource::kScreen : TrackSource::kMic;
    if (t.kind == MediaKind::kAudio) {
      t.red_payload_type = red_pt;
      t.nack = std::find(codec.rtcp_fb.begin(), codec.rtcp_fb.end(), "nack") != codec.rtcp_fb.end();
    }
    if (t.kind == MediaKind::kVideo && !rids.empty()) {
      t.ssrc = 0;
      t.rids = std::move(rids);
      t.rtx_payload_type = rtx_for(codec.payload_type);
    } else if (t.kind == MediaKind::kVideo) {
      for (const auto& g : om.ssrc_groups) {
        if (g.semantics != "FID" || g.ssrcs.size() < 2) continue;
        t.ssrc = g.ssrcs[0];
        t.rtx_payload_type = rtx_for(codec.payload_type);
        if (t.rtx_payload_type) t.rtx_ssrc = g.ssrcs[1];
        break;
      }
    }
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
  if (auto h = host_.lock(); h && code == kCloseDecode) bump(h->counters().error_signaling);
  ws_->send(net::error_frame(err, message));
  ws_->close(code, std::string(message));
  closed_ = true;  // nothing more is handled (frames behind it, a grant answered later)
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
  if (identifying_) {
    if (held_.size() >= kMaxHeldFrames)
      return fail(kCloseDecode, "decode_error", "too many frames before ready");
    held_.push_back(text);
    return;
  }
  if (!identified_) return fail(kCloseNotIdentified, "not_identified", "identify first");
  if (op == "offer") return on_offer(host, d);
  if (op == "watch" || op == "unwatch") return watch(host, d, op == "watch");
  if (op == "quality") return quality(host, d);
  if (op == "answer") {
    offer_in_flight_ = false;
    if (dirty_) schedule_offer();
    return;
  }
  bump(host.counters().error_signaling);
  ws_->send(net::error_frame("unknown_op", "unknown op"));
}

// A client's quality report (docs/protocol.md "Quality reports"): validated, bounded and
// aggregated into the node's voice quality histograms; a refused one is answered with an
// error and changes nothing.
void SignalingSession::quality(SignalingHost& host, const json::object& d) {
  telemetry::QualityMetrics* q = host.options().quality;
  if (!q) return;  // this node does not aggregate reports
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
  if (!report_gate_.allow(now)) {
    q->count_rejected();
    ws_->send(net::error_frame("rate_limited", "one quality report per 4 s"));
    return;
  }
  if (auto r = q->ingest(d); !r) ws_->send(net::error_frame(r.error().code, r.error().message));
}

void SignalingSession::identify(SignalingHost& host, const json::object& d) {
  if (identified_ || identifying_)
    return fail(kCloseAuthFailed, "already_identified", "already identified");
  const std::int64_t identify_started_ns = telemetry::unix_ns_now();
  if (auto* kind = d.if_contains("kind"); kind && !kind->is_null()) {
    if (!kind->is_string() || (kind->as_string() != "voice" && kind->as_string() != "stream"))
      return fail(kCloseDecode, "decode_error", "kind must be \"voice\" or \"stream\"");
    stream_conn_ = kind->as_string() == "stream";
  }
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
  if (!who) {
    host.count_rejected_token();
    return fail(kCloseAuthFailed, "auth_failed", "voice token " + error);
  }
  std::string traceparent;
  if (auto* tp = d.if_contains("traceparent"); tp && tp->is_string())
    traceparent = std::string(tp->as_string());
  identifying_ = true;
  host.check_grant(*who, [self = shared_from_this(), who = *who, identify_started_ns,
                          traceparent = std::move(traceparent)](GrantAnswer answer) {
    self->identify_granted(who, answer, identify_started_ns, traceparent);
  });
}

void SignalingSession::identify_granted(const VoiceIdentity& who, const GrantAnswer& answer,
                                        std::int64_t started_ns, const std::string& traceparent) {
  auto h = host_.lock();
  if (!h || closed_) return;
  SignalingHost& host = *h;
  identifying_ = false;
  if (!answer.grant) {
    held_.clear();
    host.count_rejected_token();
    if (answer.unknown)
      return fail(kCloseTryAgain, "voice_state_unavailable",
                  "your voice state cannot be read right now; try again");
    return fail(kCloseAuthFailed, "auth_failed",
                "voice token does not match your voice state (left, removed or superseded)");
  }
  const SessionGrant* granted = &*answer.grant;
  identified_ = true;
  generation_ = answer.generation;
  ws_->set_authenticated();  // ends the identify deadline and the unauthenticated cap
  who_ = who;
  // W3C trace context: a valid `traceparent` (the join answer's) links this connection to the
  // REST join; anything else starts a new trace (never an error).
  if (auto* tracer = host.options().tracer; tracer && tracer->enabled()) {
    std::optional<telemetry::TraceContext> parent;
    if (!traceparent.empty()) parent = telemetry::TraceContext::parse(traceparent);
    auto span = telemetry::start_span("sfu.identify", parent, 2);
    span.start_unix_ns = started_ns;
    span.attributes = {{"hype.connection", stream_conn_ ? "stream" : "voice"},
                       {"hype.node", host.options().node_id}};
    trace_ = span.ctx;
    tracer->record(std::move(span));
  }
  may_speak_ = granted->may_speak;
  may_stream_ = granted->may_stream;
  auto admission = host.admit(shared_from_this());
  worker_ = admission.worker;
  worker_sessions_ = admission.worker_sessions;
  json::array others;
  if (!stream_conn_)
    for (auto u : admission.others) others.push_back(json::value(id_str(u)));
  send("ready", json::object{{"user_id", id_str(who_.user)},
                             {"channel_id", id_str(who_.channel)},
                             {"node_id", host.options().node_id},
                             {"kind", stream_conn_ ? "stream" : "voice"},
                             {"participants", std::move(others)}});
  send_frame(host.streams_frame(who_.channel));
  if (!stream_conn_) {  // a stream connection is not a participant: nobody hears of it
    host.broadcast(who_.channel,
                   net::frame("participant_join", json::object{{"user_id", id_str(who_.user)}}),
                   this);
    for (std::uint64_t u : admission.speaking)
      if (u != who_.user)
        send("speaking", json::object{{"user_id", id_str(u)}, {"speaking", true}});
  }
  replay_held(host);
}

void SignalingSession::replay_held(SignalingHost& host) {
  auto held = std::move(held_);
  held_.clear();
  for (const auto& text : held) {
    if (closed_) return;
    handle(host, text);
  }
}

void SignalingSession::watch(SignalingHost& host, const json::object& d, bool on) {
  auto error = [&](std::string_view code, std::string_view message) {
    ws_->send(net::error_frame(code, message));
  };
  if (!stream_conn_)
    return error("wrong_connection",
                 "watch streams on a stream connection (identify kind \"stream\")");
  auto streamer = net::id_field(d.if_contains("user_id"), true);
  if (!streamer) return error("invalid_request", "user_id must be a user id");
  auto user = static_cast<std::uint64_t>(*streamer);
  bool watching = std::find(watching_.begin(), watching_.end(), user) != watching_.end();
  if (!on) {
    if (!watching) return;
    std::erase(watching_, user);
    host.worker(worker_).unwatch(who_.channel, participant_id(), stream_participant(user));
    host.set_watching(who_.channel, user, who_.user, false);
    return;
  }
  if (user == who_.user) return error("invalid_request", "you cannot watch your own stream");
  const auto* info = host.stream(who_.channel, user);
  if (!info) return error("not_streaming", "that user is not streaming in this channel");
  if (!published_ || video_codecs_.empty())
    return error("no_video_section",
                 "offer a recvonly video section (and an audio one for stream audio) first");
  bool accepted = std::any_of(video_codecs_.begin(), video_codecs_.end(), [&](const auto& c) {
    rtc::sdp::Codec probe;
    probe.name = c.name;
    return probe.is(info->codec);
  });
  if (!accepted)
    return error("codec_unsupported",
                 "your video section accepted none of the stream's codecs (" + info->codec + ")");
  if (watching) return;
  watching_.push_back(user);
  host.worker(worker_).watch(who_.channel, participant_id(), stream_participant(user));
  host.set_watching(who_.channel, user, who_.user, true);
}

// The stream this connection publishes ends on the SFU (the client learns why); its
// watchers' sections go inactive when the worker unpublishes the tracks.
void SignalingSession::end_stream(SignalingHost& host, std::string_view code,
                                  std::string_view message) {
  std::erase_if(published_tracks_,
                [](const PublishedTrack& t) { return t.source == TrackSource::kScreen; });
  if (published_)
    host.worker(worker_).update_session(who_.channel, participant_id(), published_tracks_,
                                        video_codecs_);
  if (streaming_) {
    streaming_ = false;
    host.set_stream(who_.channel, who_.user, std::nullopt);
  }
  if (!code.empty()) ws_->send(net::error_frame(code, message));
}

void SignalingSession::release_streams(SignalingHost& host) {
  auto watching = std::move(watching_);
  watching_.clear();
  for (std::uint64_t u : watching) host.set_watching(who_.channel, u, who_.user, false);
  if (streaming_) {
    streaming_ = false;
    host.set_stream(who_.channel, who_.user, std::nullopt);
  }
}

void SignalingSession::forget_watch(std::uint64_t streamer) {
  std::erase(watching_, streamer);
}

void SignalingSession::replace() {
  if (auto h = host_.lock()) release_streams(*h);
  replaced_ = true;
  ws_->close(kCloseReplaced, "replaced by a new connection");
}

void SignalingSession::on_offer(SignalingHost& host, const json::object& d) {
  auto invalid = [&](std::string_view message) {
    bump(host.counters().error_sdp);
    ws_->send(net::error_frame("invalid_sdp", message));
  };
  auto* sdpv = d.if_contains("sdp");
  if (!sdpv || !sdpv->is_string()) return invalid("sdp missing");
  auto offer = rtc::sdp::parse(std::string(sdpv->as_string()));
  if (!offer) return invalid(offer.error().message);
  Worker& w = host.worker(worker_);
  rtc::sdp::AnswerOptions ao;
  ao.audio_red = host.options().audio_red;
  ao.audio_nack = host.options().audio_nack;
  ao.audio_ptime_ms = audio_ptime_for(host.options(), worker_sessions_);
  // Checked before anything changes: a refused offer leaves the connection as it was, so
  // a corrected offer on the same socket starts from scratch.
  auto check = rtc::sdp::validate_offer(*offer, ao, !stream_conn_);
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
  cand.port = host.options().announced_port != 0 ? host.options().announced_port : w.port();
  ao.candidates.push_back(cand);
  ao.session_id = random_u64() >> 2;
  auto ans = rtc::sdp::create_answer(*offer, ao);
  if (!ans) return invalid(ans.error().message);
  SessionParams p;
  describe_publisher(*offer, *ans, p, stream_conn_);
  bool screen = std::any_of(p.tracks.begin(), p.tracks.end(), [](const PublishedTrack& t) {
    return t.source == TrackSource::kScreen;
  });
  bool denied = screen && !may_stream_;
  if (denied) {
    // Not live (POST /voice/stream) or no STREAM: its screen sections are refused.
    std::erase_if(p.tracks, [&](const PublishedTrack& t) {
      if (t.source != TrackSource::kScreen) return false;
      for (auto& m : ans->media) {
        if (m.mid != t.mid) continue;
        m.port = 0;
        m.direction = rtc::sdp::Direction::kInactive;
        m.candidates.clear();
        m.end_of_candidates = false;
      }
      return true;
    });
  }
  local_ = local;
  published_tracks_ = p.tracks;
  video_codecs_ = p.video_codecs;
  if (!published_) {
    p.room = who_.channel;
    p.participant = participant_id();
    p.local = local_;
    p.remote = remote;
    p.remote_fingerprint = m0.fingerprint;
    p.trace = trace_;
    p.tracer = host.options().tracer;
    remote_ = remote;
    published_ = true;
    if (!stream_conn_) bump(host.counters().funnel_signaled);
    w.add_session(std::move(p));
    if (!may_speak_ && !stream_conn_) w.set_server_mute(who_.channel, who_.user, true);
  } else {
    if (restart) {
      remote_ = remote;
      w.restart_ice(who_.channel, participant_id(), local_, remote);
    }
    w.update_session(who_.channel, participant_id(), p.tracks, p.video_codecs);
  }
  bool now_streaming = false;
  std::string codec;
  for (const auto& t : published_tracks_) {
    if (t.source != TrackSource::kScreen || t.kind != MediaKind::kVideo) continue;
    now_streaming = true;
    codec = t.codec;
  }
  if (now_streaming != streaming_) {
    streaming_ = now_streaming;
    host.set_stream(who_.channel, who_.user,
                    now_streaming ? std::optional<std::string>(codec) : std::nullopt);
  }
  // Server offers start from the client's own sections as answered (the rest are ours).
  answer_ = *ans;
  std::size_t own = 0;
  while (own < answer_.media.size() &&
         (sections_.empty() || answer_.media[own].mid != sections_.front().mid))
    ++own;
  answer_.media.resize(own);
  send("answer", json::object{{"sdp", rtc::sdp::write(*ans)}});
  if (denied)
    ws_->send(net::error_frame("stream_denied",
                               "go live first (POST /voice/stream) with the Stream permission"));
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
    o.rtx_ssrc = s.active ? s.rtx_ssrc : 0;
    if (!s.codec.empty()) o.codecs = {s.codec};
    std::uint64_t user = user_of(s.publisher);
    // A slot's stream is named after the slot: its speaker changes, see the slots event.
    o.msid_stream = s.audio_slot >= 0
                        ? "slot" + std::to_string(s.audio_slot)
                        : "u" + id_str(user) + (s.source == TrackSource::kScreen ? "-screen" : "");
    o.msid_track = o.msid_stream + "-" + o.kind;
    o.cname = s.audio_slot >= 0 ? "hype-sfu" : "hype-" + id_str(user);
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
    else if (s.source == TrackSource::kScreen)
      streams.push_back(json::object{{"mid", s.mid},
                                     {"ssrc", s.ssrc},
                                     {"user_id", id_str(user_of(s.publisher))},
                                     {"kind", kind},
                                     {"source", "screen"}});
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
    sections_.push_back({mid, d.out_ssrc, d.publisher, d.kind, d.payload_type, true, d.slot,
                         d.source, d.rtx_ssrc, d.codec});
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

void SignalingSession::send_layers(const std::string& mid,
                                   const std::vector<std::pair<std::string, bool>>& layers) {
  if (closed_ || !stream_conn_) return;
  json::object active;
  for (const auto& l : layers) active[l.first] = l.second;
  send("layers", json::object{{"mid", mid}, {"active", std::move(active)}});
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
  h->check_grant(who_,
                 [self = shared_from_this()](GrantAnswer answer) { self->apply_grant(answer); });
}

void SignalingSession::apply_grant(const GrantAnswer& answer) {
  auto h = host_.lock();
  if (!h || !identified_ || closed_ || replaced_) return;
  if (answer.unknown) return;  // the state cannot be read now: keep what was granted
  if (!answer.grant && answer.generation != generation_) return state_lost(*h);
  if (!answer.grant) return revoke(*h);
  if (state_lost_at_)
    spdlog::info("sfu session user={} channel={}: voice state written back, media never stopped",
                 who_.user, who_.channel);
  state_lost_at_.reset();
  generation_ = answer.generation;  // a state written back lives in the new store
  const SessionGrant* g = &*answer.grant;
  if (g->may_stream != may_stream_) {
    may_stream_ = g->may_stream;
    if (!may_stream_ && streaming_)
      end_stream(*h, "stream_ended",
                 "your stream ended (stopped, or the Stream permission is gone)");
  }
  if (stream_conn_ || g->may_speak == may_speak_) return;
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

// The voice-state store restarted empty (another generation): nobody took the right away, the
// state is simply gone. First the client is asked to write it back without leaving
// (`state_lost`: a join naming this session keeps the stay, and this connection's grant is
// found again at the next check); a client that does not within the grace joins again (4012).
// The frame is repeated at every check (about once a second) while the state is missing: a
// write-back refused meanwhile (the cluster not yet able to place the channel again right
// after Redis came back) is simply tried again.
void SignalingSession::state_lost(SignalingHost& host) {
  const auto now = std::chrono::steady_clock::now();
  if (!state_lost_at_) {
    state_lost_at_ = now;
    spdlog::info(
        "sfu session user={} channel={}: voice state store was reset, asking the client "
        "to write its state back",
        who_.user, who_.channel);
  } else if (now - *state_lost_at_ >= host.options().state_repair_grace) {
    return ask_rejoin(host);
  }
  ws_->send(net::frame("state_lost", json::object{{"channel_id", id_str(who_.channel)},
                                                  {"session", id_str(who_.session)}}));
}

void SignalingSession::ask_rejoin(SignalingHost& host) {
  spdlog::info("sfu session user={} channel={}: voice state store was reset, asking to rejoin",
               who_.user, who_.channel);
  end_join_again(host, "voice_state_lost", "the cluster lost your voice state; join again",
                 "voice state lost: join again");
}

void SignalingSession::end_moved(SignalingHost& host) {
  if (closed_) return;
  spdlog::info("sfu session user={} channel={}: the channel moved to another node, ending it here",
               who_.user, who_.channel);
  end_join_again(host, "channel_moved", "the channel moved to another SFU node; join again",
                 "channel moved: join again");
}

void SignalingSession::end_join_again(SignalingHost& host, std::string_view code,
                                      std::string_view message, std::string_view reason) {
  ws_->send(net::error_frame(code, message));
  ws_->close(kCloseTryAgain, std::string(reason));
  closed_ = true;
  teardown(host);
}

void SignalingSession::teardown(SignalingHost& host) {
  if (torn_down_) return;
  torn_down_ = true;
  batch_timer_.cancel();
  if (!identified_) return;
  if (!replaced_ && published_) host.worker(worker_).remove_session(who_.channel, participant_id());
  if (!replaced_) release_streams(host);
  host.leave(shared_from_this());
}

}  // namespace hype::sfu
