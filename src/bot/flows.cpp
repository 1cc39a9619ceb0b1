// hype-bot's flows (flows.hpp): setup, the hype and Janus voice joins, --hold, leave.
#include "bot/flows.hpp"

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <thread>

#include "bot/janus_client.hpp"
#include "bot/video.hpp"
#include "core/random.hpp"
#include "rtc/sdp/sdp.hpp"

namespace json = boost::json;

namespace hype::bot {

namespace {

// Pauses before each join again after losing the SFU node, as the web client's
// REJOIN.pausesMs; after the last, that pause until the run ends.
constexpr int kRejoinPausesMs[] = {0, 500, 1500, 3000, 5000};

// Sleeps `ms`, or less when the run stops. False when it stopped.
bool pause_unless_stopped(int ms, const std::atomic<bool>& stop) {
  for (int left = ms; left > 0 && !stop.load(); left -= 20) ::poll(nullptr, 0, std::min(left, 20));
  return !stop.load();
}

// Where one /voice connection left off.
struct Served {
  enum class End { kMoved, kLost, kEnded } end;
  std::string why;
  int code = 0;  // the close code, when the connection closed
};

// Reads one /voice connection until it ends or its channel moves to another node
// (`server_update`): ready -> our offer, the server's answer -> the media link, server offers
// answered, `slots` mapped. Slot mids are named per node ("node/a0"): during a move the old
// node's slots and the new node's carry different users.
Served serve(Bot& b, VoiceSocket& ws, const std::string& channel,
             const std::shared_ptr<rtc::DtlsContext>& ctx, int& attempt) {
  for (;;) {
    json::value f;
    try {
      f = ws.receive();
    } catch (const VoiceClosed& e) {
      // 4004 refused, 4005 replaced, 4006 the voice state ended: not ours to retry (as the web
      // client). 4012 asks for a join again; anything else is a lost node.
      if (e.code == 4004 || e.code == 4005 || e.code == 4006)
        return {Served::End::kEnded, e.what(), e.code};
      return {Served::End::kLost, e.what(), e.code};
    }
    auto& fo = f.as_object();
    std::string op(fo.at("op").as_string());
    if (op == "ready") {
      attempt = 0;
      std::lock_guard lock(b.mu);
      ws.send(json::object{{"op", "offer"},
                           {"d", json::object{{"sdp", offer_sdp(b, ctx->certificate())}}}});
    } else if (op == "answer") {
      auto sd = rtc::sdp::parse(std::string(fo.at("d").at("sdp").as_string()));
      if (!sd || sd->media.empty()) throw std::runtime_error("bad answer");
      connect_media(b, sd->media.front(), ctx, rtc::DtlsRole::kClient);
    } else if (op == "offer") {
      auto& d = fo.at("d").as_object();
      {
        std::lock_guard lock(b.mu);
        std::size_t slots = 0;
        for (auto& sv : d.at("streams").as_array()) {
          auto& st = sv.as_object();
          auto ssrc = static_cast<std::uint32_t>(st.at("ssrc").to_number<std::uint64_t>());
          if (auto* u = st.if_contains("user_id"); u && u->is_string())
            b.ssrc_user[ssrc] = std::string(u->as_string());
          if (st.contains("slot")) {
            b.ssrc_mid[ssrc] = b.node + "/" + std::string(st.at("mid").as_string());
            ++slots;
          }
        }
        b.audio_slots = std::max(b.audio_slots, slots);
      }
      ws.send(
          json::object{{"op", "answer"},
                       {"d", json::object{{"sdp", answer_sdp(std::string(d.at("sdp").as_string()),
                                                             b, ctx->certificate())},
                                          {"version", d.at("version")}}}});
    } else if (op == "slots") {
      std::lock_guard lock(b.mu);
      for (auto& sv : fo.at("d").at("slots").as_array()) {
        auto& sl = sv.as_object();
        auto& u = sl.at("user_id");
        b.mid_user[b.node + "/" + std::string(sl.at("mid").as_string())] =
            u.is_string() ? std::string(u.as_string()) : std::string();
      }
    } else if (op == "server_update") {
      auto& d = fo.at("d").as_object();
      const json::value* to = d.at("sfu").as_object().if_contains("id");
      if (d.at("channel_id").as_string() == channel && to && to->is_string() &&
          to->as_string() != b.node)
        return {Served::End::kMoved, "moved to sfu node " + std::string(to->as_string())};
    } else if (op == "state_lost") {
      // The cluster's store lost our voice state (Redis restarted empty): write it back keeping
      // the stay, as the web client does; the node finds our grant again and media goes on. A
      // channel placed elsewhere meanwhile is a move.
      auto& d = fo.at("d").as_object();
      if (d.at("channel_id").as_string() != channel) continue;
      // Naming our node: the channel the store forgot is placed there again (no move).
      json::object body{{"session", d.at("session")}, {"sfu_node", b.node}};
      auto j = b.rest->call("POST", "/voice/join/" + channel, body, b.token);
      if (j.status != 200) {
        std::fprintf(stderr, "hype-bot: bot %d: voice state not written back: HTTP %d\n", b.index,
                     j.status);
        continue;  // the node asks us to join again (4012) after its grace
      }
      const json::value* sfu = j.body.as_object().if_contains("sfu");
      std::string to = sfu && sfu->is_object() && sfu->as_object().at("id").is_string()
                           ? std::string(sfu->as_object().at("id").as_string())
                           : std::string();
      std::fprintf(stderr, "hype-bot: bot %d: voice state written back (sfu node %s)\n", b.index,
                   to.c_str());
      if (!to.empty() && to != b.node) return {Served::End::kMoved, "moved to sfu node " + to};
    } else if (op == "error") {
      const json::value* code = fo.at("d").as_object().if_contains("code");
      if (code && code->is_string() &&
          (code->as_string() == "rate_limited" || code->as_string() == "invalid_report")) {
        ++b.reports_refused;  // a quality report the server refused: counted, not fatal
        continue;
      }
      // Errors the server closes the connection after: the close code decides (4004, 4006:
      // refused or ended; 4012: the cluster could not read or had lost our voice state).
      if (code && code->is_string() &&
          (code->as_string() == "auth_failed" || code->as_string() == "voice_state_ended" ||
           code->as_string() == "voice_state_unavailable" ||
           code->as_string() == "voice_state_lost"))
        continue;
      throw std::runtime_error("server: " + json::serialize(fo.at("d")));
    }
  }
}

// POST /voice/join (naming the node we lost, if any), then the /voice connection to the node
// the answer names, identified. Moving (a drain): the current link becomes the old one, kept
// until the new one is connected; an answer naming our current node (not moved after all)
// keeps the current connection. Throws when the join is refused or the node cannot be reached
// (then `failed` names it, for the next join).
std::shared_ptr<VoiceSocket> join_and_connect(Bot& b, const std::string& channel,
                                              std::string& failed, bool moving) {
  json::object body;
  if (!failed.empty()) body["sfu_failed"] = failed;
  auto j = b.rest->call("POST", "/voice/join/" + channel, body, b.token);
  if (j.status != 200) throw std::runtime_error("voice join: HTTP " + std::to_string(j.status));
  auto& jo = j.body.as_object();
  {
    std::lock_guard lock(b.mu);
    b.joined = true;
  }
  if (!jo.at("sfu").is_object()) throw std::runtime_error("no SFU node for this channel");
  failed.clear();
  std::string node(jo.at("sfu").at("id").as_string());
  std::string url(jo.at("sfu").at("url").as_string()), host, port, path;
  split_url(url, host, port, path);
  if (moving && node == b.node) {
    std::lock_guard lock(b.mu);
    return b.ws;
  }
  auto ws = std::make_shared<VoiceSocket>();
  try {
    ws->connect(host, port, path);
  } catch (const std::exception& e) {
    if (!moving) failed = node;
    std::string why = e.what();
    why = why.substr(0, why.find(" ["));  // Beast appends the source location
    throw std::runtime_error("sfu node " + node + ": " + why);
  }
  {
    std::lock_guard lock(b.mu);
    if (moving) {
      b.old = std::make_unique<Link>(std::move(b.link));
      if (b.old_ws) b.old_ws->abort();
      b.old_ws = b.ws;
      b.old_until_us = 0;  // until the new link has SRTP, then a linger
      ++b.moves;
    }
    b.link = Link{};
    b.ws = ws;
    b.node = node;
  }
  json::object identify{{"token", jo.at("voice_token")}, {"channel_id", channel}};
  // The join's trace context: the SFU's join spans continue the REST join's trace.
  if (auto* tp = jo.if_contains("traceparent")) identify["traceparent"] = *tp;
  ws->send(json::object{{"op", "identify"}, {"d", std::move(identify)}});
  return ws;
}

// The voice join and the SFU connection, like the web client. When the node is lost (its
// connection drops: killed, cut off) the bot joins again at once with `sfu_failed` naming
// it, which moves the channel to a live node, then with pauses while joins are refused. When
// the node drains (`server_update`) the bot moves make before break: the old link carries
// audio both ways until the new one is connected (a move that fails is tried again after a
// pause, the old link still carrying the audio). The first join's failure ends the bot (an
// error in the report); later ones are retried until the run ends.
void run_signaling(Bot& b, const std::string& channel, const std::shared_ptr<rtc::DtlsContext>& ctx,
                   std::atomic<bool>& stop) {
  // Below the media thread: hundreds of signaling threads woken at once by a broadcast
  // (speaking events) must not delay the packets the media thread sends.
  ::setpriority(PRIO_PROCESS, 0, 10);
  std::string failed;   // the node we lost: the next join names it
  bool moving = false;  // the channel moved: the current link carries audio meanwhile
  int attempt = 0;      // joins since the last `ready`
  std::string last_error;
  b.join_start_us = now_us();
  while (!stop.load()) {
    const bool first = !b.joined;
    try {
      const std::size_t i =
          std::min(static_cast<std::size_t>(attempt), std::size(kRejoinPausesMs) - 1);
      if (!first && !pause_unless_stopped(kRejoinPausesMs[i], stop)) break;
      ++attempt;
      std::shared_ptr<VoiceSocket> ws = join_and_connect(b, channel, failed, moving);
      moving = false;
      Served end = serve(b, *ws, channel, ctx, attempt);
      if (stop.load()) break;
      if (end.end == Served::End::kEnded) {
        last_error = end.why;
        break;
      }
      if (end.end == Served::End::kMoved) {
        std::fprintf(stderr, "hype-bot: bot %d: %s (from %s)\n", b.index, end.why.c_str(),
                     b.node.c_str());
        moving = true;
        attempt = 0;
        continue;
      }
      std::fprintf(stderr, "hype-bot: bot %d: sfu node %s: %s; joining again\n", b.index,
                   b.node.c_str(), end.why.c_str());
      // Lost: asked to join again (4012, the node is fine), or the node itself is gone.
      failed = end.code == 4012 ? std::string() : b.node;
      std::lock_guard lock(b.mu);
      b.link = Link{};
      b.old.reset();
      if (b.old_ws) b.old_ws->abort();
      b.old_ws.reset();
      ++b.reconnects;
    } catch (const std::exception& e) {
      if (stop.load()) break;
      last_error = e.what();
      if (first) break;
      // A move that failed is tried again after a pause (the old link carries the audio
      // meanwhile), as is a join again.
      std::fprintf(stderr, "hype-bot: bot %d: %s%s\n", b.index, e.what(),
                   moving ? " (moving: trying again)" : "");
    }
  }
  std::lock_guard lock(b.mu);
  if (!last_error.empty() && (!stop.load() || !b.link.srtp))
    b.error = stop.load() ? "not connected again: " + last_error : last_error;
  b.signaling_done = true;
}

// Every bot that holds a voice state leaves it over REST (a few in parallel).
void leave_all(Bots& bots) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  workers.reserve(8);
  for (int w = 0; w < 8; ++w)
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < bots.size(); i = next++) {
        Bot& b = *bots[i];
        if (!b.joined || !b.rest) continue;
        try {
          auto r = b.rest->call("POST", "/voice/leave/" + b.channel, json::object{}, b.token);
          if (r.status == 204 || r.status == 200) b.joined = false;
        } catch (const std::exception&) {
        }
      }
    });
  for (auto& t : workers) t.join();
}

void run_janus_signaling(Bot& b, JanusRoom& jr, const std::shared_ptr<rtc::DtlsContext>& ctx,
                         std::atomic<bool>& stop) {
  auto sdp_of = [](const JanusEvent& e) {
    auto sd = rtc::sdp::parse(std::string(e.jsep.at("sdp").as_string()));
    if (!sd || sd->media.empty()) throw std::runtime_error("janus: bad SDP");
    return *sd;
  };
  try {
    b.join_start_us = now_us();
    JanusClient jc(jr.url);
    jc.create_session();
    auto ph = jc.attach("janus.plugin.videoroom");
    std::string name = "bot" + std::to_string(b.index);
    auto joined = jc.message(
        ph, json::object{
                {"request", "join"}, {"ptype", "publisher"}, {"room", jr.room}, {"display", name}});
    std::uint64_t feed = joined.data.at("id").to_number<std::uint64_t>();
    if (b.pub) {
      Bot& p = *b.pub;
      p.join_start_us = b.join_start_us;
      std::string offer;
      {
        std::lock_guard lock(p.mu);
        offer = offer_sdp(p, ctx->certificate());
      }
      auto a = jc.message(ph, json::object{{"request", "publish"}, {"audio", true}},
                          json::object{{"type", "offer"}, {"sdp", offer}});
      auto sd = sdp_of(a);
      auto& m = sd.media.front();
      connect_media(
          p, m, ctx,
          m.setup == rtc::sdp::Setup::kActive ? rtc::DtlsRole::kServer : rtc::DtlsRole::kClient);
      // Janus accepts subscribers to a feed only once its PeerConnection is up.
      for (int i = 0; i < 2000 && !stop.load(); ++i) {
        if (std::lock_guard l(p.mu); p.link.srtp) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::lock_guard lock(jr.mu);
      jr.feeds.emplace_back(b.index, feed);
      jr.cv.notify_all();
    }
    json::array streams;
    std::map<std::string, std::string> feed_name;
    {
      // Waiting for the other speakers is not part of this bot's join time.
      std::int64_t wait_start = now_us();
      std::unique_lock lock(jr.mu);
      jr.cv.wait_for(lock, std::chrono::seconds(60),
                     [&] { return jr.feeds.size() >= jr.speakers || stop.load(); });
      for (auto& [idx, f] : jr.feeds)
        if (f != feed) streams.push_back(json::object{{"feed", f}});
      b.join_start_us += now_us() - wait_start;
    }
    if (streams.empty()) throw std::runtime_error("janus: no speaker feed to subscribe to");
    auto sh = jc.attach("janus.plugin.videoroom");
    JanusEvent att;
    for (int attempt = 0;; ++attempt) {
      try {  // a feed whose DTLS just completed may not be started on Janus's side yet
        att = jc.message(sh, json::object{{"request", "join"},
                                          {"ptype", "subscriber"},
                                          {"room", jr.room},
                                          {"streams", streams}});
        break;
      } catch (const std::runtime_error& e) {
        if (attempt >= 50 || std::string(e.what()).find("\"error_code\":428") == std::string::npos)
          throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    auto sd = sdp_of(att);
    if (auto* st = att.data.if_contains("streams"))
      for (auto& s : st->as_array())
        if (auto* d = s.as_object().if_contains("feed_display"))
          feed_name[std::string(s.at("mid").as_string())] = std::string(d->as_string());
    {
      std::lock_guard lock(b.mu);
      for (auto& m : sd.media)
        for (auto& s : m.ssrcs) b.ssrc_user[s.ssrc] = feed_name[m.mid];
    }
    std::string answer =
        answer_sdp(std::string(att.jsep.at("sdp").as_string()), b, ctx->certificate());
    jc.message(sh, json::object{{"request", "start"}},
               json::object{{"type", "answer"}, {"sdp", answer}});
    connect_media(b, sd.media.front(), ctx, rtc::DtlsRole::kClient);
  } catch (const std::exception& e) {
    if (!stop.load()) {
      std::lock_guard lock(b.mu);
      b.error = e.what();
    }
  }
  b.signaling_done = true;
}

// --target janus with --stream/--watch: the streamer publishes its clip as a VP8 feed (its
// send section only); each watcher, once the feed exists, subscribes to it on its own handle
// and answers Janus's offer, taking the payload types Janus chose. The watcher's "watch" is
// the subscribe request (first_frame_ms counts from it).
void run_janus_stream_signaling(Bot& b, JanusRoom& jr, const std::shared_ptr<rtc::DtlsContext>& ctx,
                                std::atomic<bool>& stop) {
  auto sdp_of = [](const JanusEvent& e) {
    if (!e.jsep.is_object()) throw std::runtime_error("janus: no SDP in the answer");
    auto sd = rtc::sdp::parse(std::string(e.jsep.at("sdp").as_string()));
    if (!sd || sd->media.empty()) throw std::runtime_error("janus: bad SDP");
    return *sd;
  };
  try {
    b.join_start_us = now_us();
    JanusClient jc(jr.url);
    jc.create_session();
    auto h = jc.attach("janus.plugin.videoroom");
    if (b.vpub) {
      auto joined = jc.message(h, json::object{{"request", "join"},
                                               {"ptype", "publisher"},
                                               {"room", jr.room},
                                               {"display", "bot" + std::to_string(b.index)}});
      const auto feed = joined.data.at("id").to_number<std::uint64_t>();
      std::string offer;
      {
        std::lock_guard lock(b.mu);
        offer = publisher_offer_sdp(b, ctx->certificate(), /*recv_section=*/false);
      }
      auto a = jc.message(h, json::object{{"request", "publish"}},
                          json::object{{"type", "offer"}, {"sdp", offer}});
      auto sd = sdp_of(a);
      auto& m = sd.media.front();
      if (m.rejected()) throw std::runtime_error("janus rejected the VP8 section");
      connect_media(
          b, m, ctx,
          m.setup == rtc::sdp::Setup::kActive ? rtc::DtlsRole::kServer : rtc::DtlsRole::kClient);
      // Janus accepts subscribers to a feed only once its PeerConnection is up.
      for (int i = 0; i < 2000 && !stop.load(); ++i) {
        if (std::lock_guard l(b.mu); b.link.srtp) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::lock_guard lock(jr.mu);
      jr.feeds.emplace_back(b.index, feed);
      jr.cv.notify_all();
    } else {
      std::uint64_t feed = 0;
      {
        std::int64_t wait_start = now_us();  // waiting for the streamer is not join time
        std::unique_lock lock(jr.mu);
        jr.cv.wait_for(lock, std::chrono::seconds(60),
                       [&] { return !jr.feeds.empty() || stop.load(); });
        if (jr.feeds.empty()) throw std::runtime_error("janus: no stream to watch");
        feed = jr.feeds.front().second;
        b.join_start_us += now_us() - wait_start;
      }
      {
        std::lock_guard lock(b.mu);
        b.vrx->watching = "bot0";
        b.vrx->watch_sent_us = now_us();
      }
      JanusEvent att;
      for (int attempt = 0;; ++attempt) {
        try {  // a feed whose DTLS just completed may not be started on Janus's side yet
          att = jc.message(h, json::object{{"request", "join"},
                                           {"ptype", "subscriber"},
                                           {"room", jr.room},
                                           {"streams", json::array{json::object{{"feed", feed}}}}});
          break;
        } catch (const std::runtime_error& e) {
          if (attempt >= 50 ||
              std::string(e.what()).find("\"error_code\":428") == std::string::npos)
            throw;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
      auto sd = sdp_of(att);
      auto& m = sd.media.front();
      {
        std::lock_guard lock(b.mu);
        b.vrx->pt_rtx = 128;  // matches no packet unless Janus offers RTX
        for (auto& c : m.codecs)
          if (c.is("VP8")) b.vrx->pt_media = c.payload_type;
        for (auto& c : m.codecs)
          if (c.is("rtx") && c.rtx_apt() == b.vrx->pt_media) b.vrx->pt_rtx = c.payload_type;
      }
      std::string answer =
          answer_sdp(std::string(att.jsep.at("sdp").as_string()), b, ctx->certificate());
      jc.message(h, json::object{{"request", "start"}},
                 json::object{{"type", "answer"}, {"sdp", answer}});
      connect_media(b, m, ctx, rtc::DtlsRole::kClient);
    }
  } catch (const std::exception& e) {
    if (!stop.load()) {
      std::lock_guard lock(b.mu);
      b.error = e.what();
    }
  }
  b.signaling_done = true;
}
}  // namespace

bool setup_bots(const Options& o, RestClient& rest, Fleet& fleet) {
  std::string run = random_token(4);
  if (o.janus) {
    try {
      JanusClient jc(o.janus_url);
      jc.create_session();
      auto h = jc.attach("janus.plugin.videoroom");
      for (int g = 0; g < o.channels; ++g) {
        auto& jroom = *fleet.janus_rooms.emplace_back(std::make_unique<JanusRoom>());
        jroom.url = o.janus_url;
        jroom.room = o.janus_room && o.channels == 1 ? o.janus_room : 1 + (random_u64() >> 34);
        // Video: one feed, the streamer's (speakers is 0 then).
        jroom.speakers = o.video ? 1 : static_cast<std::size_t>(o.speakers);
        json::object create{{"request", "create"},       {"room", jroom.room},
                            {"publishers", o.count + 1}, {"audiocodec", "opus"},
                            {"audiolevel_ext", true},    {"notify_joining", false}};
        if (o.video) {
          create["videocodec"] = "vp8";
          create["bitrate"] = 0;  // no REMB cap towards the streamer (it ignores REMB anyway)
        }
        jc.message(h, create);
      }
      jc.destroy_session();
      for (int i = 0; i < o.total; ++i) {
        auto b = std::make_unique<Bot>();
        b->index = i % o.count;
        b->group = i / o.count;
        b->speaker = b->index < o.speakers;
        if (b->speaker) {
          auto p = std::make_unique<Bot>();
          p->index = b->index;
          p->group = b->group;
          p->speaker = p->pub_only = true;
          b->pub = p.get();
          fleet.bots.push_back(std::move(p));
        }
        fleet.bots.push_back(std::move(b));
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "janus setup failed: %s\n", e.what());
      return false;
    }
  }
  fleet.channel_ids.assign(static_cast<std::size_t>(o.channels), o.channel);
  std::vector<std::string> invite_codes(static_cast<std::size_t>(o.channels), o.invite);
  try {
    std::string guild;
    for (int i = 0; i < (o.janus ? 0 : o.total) && !g_signaled.load(); ++i) {
      auto b = std::make_unique<Bot>();
      b->index = i % o.count;
      b->group = i / o.count;
      b->speaker = b->index < o.speakers;
      b->rest = &rest;
      std::string& chan = fleet.channel_ids[static_cast<std::size_t>(b->group)];
      std::string& code = invite_codes[static_cast<std::size_t>(b->group)];
      std::string name = "bot_" + run + "_" + std::to_string(i);
      auto r = rest.call("POST", "/auth/register",
                         json::object{{"username", name}, {"password", "bot-password-" + run}});
      if (r.status != 201) throw std::runtime_error("register: HTTP " + std::to_string(r.status));
      b->token = std::string(r.body.at("access_token").as_string());
      b->user_id = std::string(r.body.at("user").at("id").as_string());
      if (chan.empty() && b->index == 0) {
        auto g = rest.call("POST", "/guilds", json::object{{"name", "bots " + run}}, b->token);
        guild = std::string(g.body.at("id").as_string());
        auto chans = rest.call("GET", "/guilds/" + guild + "/channels", nullptr, b->token);
        for (auto& c : chans.body.as_array())
          if (c.at("kind").as_string() == "voice") chan = std::string(c.at("id").as_string());
        auto inv = rest.call("POST", "/guilds/" + guild + "/invites", json::object{}, b->token);
        code = std::string(inv.body.at("code").as_string());
      } else if (!code.empty()) {
        auto j = rest.call("POST", "/invites/" + code, json::object{}, b->token);
        if (j.status != 200 && j.status != 409)
          throw std::runtime_error("invite: HTTP " + std::to_string(j.status));
      }
      b->channel = chan;
      fleet.bots.push_back(std::move(b));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "setup failed: %s\n", e.what());
    return false;
  }
  return true;
}

bool wait_join_file(const std::string& file, double timeout_s) {
  const std::string ready = file + ".ready-" + std::to_string(::getpid());
  if (FILE* f = std::fopen(ready.c_str(), "w")) {
    std::fclose(f);
  } else {
    std::fprintf(stderr, "--join-file: cannot create %s\n", ready.c_str());
    return false;
  }
  const std::int64_t until = now_us() + static_cast<std::int64_t>(timeout_s * 1e6);
  while (::access(file.c_str(), F_OK) != 0) {
    if (g_signaled.load() || now_us() > until) {
      std::fprintf(stderr, "--join-file: %s did not appear\n", file.c_str());
      return false;
    }
    ::poll(nullptr, 0, 5);
  }
  return true;
}

HoldResult run_hold(Bots& bots, double duration) {
  HoldResult r;
  for (auto& b : bots) {
    if (g_signaled.load()) break;
    try {
      auto j = b->rest->call("POST", "/voice/join/" + b->channel, json::object{}, b->token);
      if (j.status != 200) throw std::runtime_error("voice join: HTTP " + std::to_string(j.status));
      b->joined = true;
      ++r.held;
    } catch (const std::exception& e) {
      r.errors.push_back(json::value(e.what()));
    }
  }
  std::int64_t until = now_us() + static_cast<std::int64_t>(duration * 1e6);
  while (!g_signaled.load() && now_us() < until) ::poll(nullptr, 0, 50);
  leave_all(bots);
  return r;
}

std::optional<MediaWindow> run_voice(Fleet& fleet, const Options& o,
                                     const std::shared_ptr<rtc::DtlsContext>& ctx) {
  Bots& bots = fleet.bots;
  OpusLoops opus_loops;
  if (!prepare_media(bots, o, opus_loops)) return std::nullopt;
  if (o.video && !prepare_video(bots, o)) return std::nullopt;

  std::atomic<bool> stop{false};
  std::vector<std::thread> sig;
  for (auto& b : bots) {
    if (b->pub_only) continue;
    if (o.janus && o.video)
      sig.emplace_back([&, bp = b.get()] {
        run_janus_stream_signaling(*bp, *fleet.janus_rooms.front(), ctx, stop);
      });
    else if (o.janus)
      sig.emplace_back([&, bp = b.get()] {
        run_janus_signaling(*bp, *fleet.janus_rooms[static_cast<std::size_t>(bp->group)], ctx,
                            stop);
      });
    else if (o.video)
      sig.emplace_back([&, bp = b.get()] { run_stream_signaling(*bp, ctx, stop, o.join_timeout); });
    else
      sig.emplace_back([&, bp = b.get()] { run_signaling(*bp, bp->channel, ctx, stop); });
  }

  MediaWindow window = run_media(bots, o);

  stop = true;
  for (auto& jr : fleet.janus_rooms) {
    std::lock_guard lock(jr->mu);
    jr->cv.notify_all();
  }
  // An abort before a bot's WebSocket is connected does nothing (on SIGINT some may still be
  // connecting): repeat until every signaling thread is out. Janus threads block in HTTP
  // calls with their own timeouts: they are only waited for.
  for (bool all_done = false; !all_done && !o.janus; ::poll(nullptr, 0, all_done ? 0 : 20)) {
    all_done = true;
    for (auto& b : bots)
      if (!b->pub_only && !b->signaling_done.load()) {
        std::lock_guard lock(b->mu);
        b->ws->abort();
        all_done = false;
      }
  }
  for (auto& t : sig) t.join();
  leave_all(bots);
  for (auto& b : bots) b->sock.close();
  return window;
}

}  // namespace hype::bot
