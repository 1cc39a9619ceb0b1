// hype-bot: load and test client for the SFU. Logs in over REST, joins a voice channel like a
// browser (/voice/join, /voice WebSocket, SDP offer/answer), runs a full ICE controlling
// agent, DTLS client and SRTP per bot, sends real Opus (tone in talk spurts, DTX silence)
// with audio level and a send-timestamp header extension, receives everything and prints a
// report. Many bots share one process: one signaling thread per bot, one media thread.
// Audio arrives in last-N slots: a packet's user is the one the latest `slots` event names
// for its stream's mid. --hold only keeps REST voice states (seats) without media. Every
// bot leaves voice over REST at the end, also on SIGINT/SIGTERM (the report still prints).
#include <fcntl.h>
#include <netinet/in.h>
#include <opus/opus.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bot/janus_client.hpp"
#include "bot/opus_loop.hpp"
#include "bot/opus_stamp.hpp"
#include "bot/signaling_client.hpp"
#include "core/random.hpp"
#include "net/udp_socket.hpp"
#include "rtc/demux.hpp"
#include "rtc/dtls_session.hpp"
#include "rtc/ice/ice_agent.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/rtp/seq_unwrapper.hpp"
#include "rtc/sdp/sdp.hpp"
#include "rtc/srtp_session.hpp"
#include "rtc/stun/stun_message.hpp"

namespace json = boost::json;
using namespace hype;

namespace {

constexpr std::uint8_t kExtLevel = 1, kExtTwcc = 3, kExtMid = 4, kExtSendTime = 5;
constexpr const char* kSendTimeUri = "urn:hype:rtp-hdrext:send-time-us";

std::atomic<bool> g_signaled{false};
extern "C" void on_signal(int) {
  g_signaled.store(true);
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

using RestClient = bot::RestClient;
using bot::JanusEvent;

struct Stream {
  rtc::SeqUnwrapper unwrap;
  std::int64_t first = 0, highest = 0;
  std::uint64_t received = 0;
  bool any = false;
};

struct Bot {
  int index = 0;
  bool speaker = false;
  std::mutex mu;
  net::UdpSocket sock;
  std::string user_id, token;
  RestClient* rest = nullptr;
  bot::VoiceSocket ws;
  rtc::ice::IceCredentials local, remote;
  std::unique_ptr<rtc::ice::IceAgent> ice;
  std::unique_ptr<rtc::DtlsSession> dtls;
  std::unique_ptr<rtc::SrtpSession> srtp;
  std::optional<SocketAddress> peer;
  bool ready = false, dtls_started = false;
  std::string channel;  // hype: the voice channel this bot joins
  std::unordered_map<std::uint32_t, std::string> ssrc_user;  // per-publisher streams
  std::unordered_map<std::uint32_t, std::string> ssrc_mid;   // slot streams
  std::unordered_map<std::string, std::string> mid_user;     // from the latest slots event
  std::unordered_map<std::uint32_t, Stream> streams;
  std::map<std::string, std::uint64_t> from_user;  // packets by publisher at receipt
  std::map<std::string, std::int64_t> last_from_user;
  std::size_t audio_slots = 0;
  bool joined = false;  // holds a REST voice state
  std::atomic<bool> signaling_done{false};
  std::int64_t first_rx_us = -1;  // first remote audio packet (any, also before the window)
  std::uint32_t ssrc = 0;
  std::uint16_t seq = 0, twcc_seq = 0;
  std::uint32_t ts = 0;
  std::uint64_t sent = 0, sent_in_window = 0;
  std::int64_t join_start_us = 0, join_done_us = -1;
  std::vector<std::int64_t> latency_us;
  std::string error;
  // --target janus: a bot is a subscriber transport plus, for speakers, a publisher
  // transport (`pub`, marked pub_only) since Janus gives each its own PeerConnection.
  Bot* pub = nullptr;
  bool pub_only = false;
  const bot::OpusLoop* opus = nullptr;  // shared by every bot in the same channel slot
  int group = 0;  // --channels: which channel (index is the bot's place in it)
  std::int64_t next_frame_us = 0;
  // --warmup: samples before latency_from_us (media start + warmup) are kept apart.
  std::int64_t latency_from_us = 0, warmup_max_us = 0;
  void add_latency(std::int64_t now, std::int64_t v) {
    if (now >= latency_from_us)
      latency_us.push_back(v);
    else
      warmup_max_us = std::max(warmup_max_us, v);
  }
};

void send_to(const net::UdpSocket& sock, const SocketAddress& to, const std::uint8_t* d,
             std::size_t n) {
  sock.send_to(to, d, n);
}

void flush_ice(Bot& b) {
  rtc::ice::Transmit t;
  while (b.ice->poll_transmit(t)) send_to(b.sock, t.to, t.data.data(), t.size);
  rtc::ice::IceEvent e;
  while (b.ice->poll_event(e)) {
    if (e.type == rtc::ice::IceEvent::Type::kSelectedPairChanged) {
      b.peer = e.selected;
      if (!b.dtls_started) {
        b.dtls_started = true;
        b.dtls->start();
      }
    }
  }
  if (b.peer)
    while (auto dg = b.dtls->pop_datagram()) send_to(b.sock, *b.peer, dg->data(), dg->size());
}

// Packets stamped (by a bot) before `window_us` only count for the join time; packets of
// other clients (a browser) carry no stamp: counted, without a latency sample.
void on_datagram(Bot& b, std::uint8_t* buf, std::size_t n, const SocketAddress& from,
                 std::int64_t now, std::int64_t window_us) {
  rtc::MutableByteSpan d(buf, n);
  switch (rtc::classify_packet(d)) {
    case rtc::PacketKind::kStun: {
      rtc::stun::StunMessage m;
      if (rtc::stun::StunMessage::parse(d, m) == rtc::stun::ParseStatus::kOk)
        b.ice->handle_stun(m, from, now / 1000);
      flush_ice(b);
      return;
    }
    case rtc::PacketKind::kDtls:
      b.dtls->handle_datagram(d);
      flush_ice(b);
      if (b.dtls->state() == rtc::DtlsState::kConnected && !b.srtp && b.dtls->srtp_keys()) {
        auto s = rtc::SrtpSession::create(*b.dtls->srtp_keys());
        if (s) b.srtp = std::move(s.value());
        b.join_done_us = now;
      }
      return;
    case rtc::PacketKind::kRtp: {
      if (!b.srtp) return;
      std::size_t len = n;
      if (b.srtp->unprotect_rtp(rtc::MutableByteSpan(buf, 1600), len) != rtc::SrtpStatus::kOk)
        return;
      rtc::RtpPacket p;
      if (rtc::RtpPacket::parse(rtc::MutableByteSpan(buf, len), p) != rtc::RtpParseStatus::kOk)
        return;
      if (b.first_rx_us < 0) b.first_rx_us = now;
      std::int64_t sent_at = -1;
      if (auto t = bot::opus_read_stamp(p.payload().data(), p.payload().size()))
        sent_at = static_cast<std::int64_t>(*t);
      else if (auto v = p.find_extension(kExtSendTime); v && v->size() == 8)
        sent_at = static_cast<std::int64_t>(rtc::load_be64(v->data()));
      if (sent_at >= 0 && sent_at < window_us) return;
      Stream& s = b.streams[p.ssrc()];
      std::int64_t q = s.unwrap.unwrap(p.sequence_number());
      if (!s.any) s.first = s.highest = q, s.any = true;
      s.first = std::min(s.first, q);
      s.highest = std::max(s.highest, q);
      ++s.received;
      if (sent_at >= 0) b.add_latency(now, now - sent_at);
      std::string user;
      if (auto u = b.ssrc_user.find(p.ssrc()); u != b.ssrc_user.end()) {
        user = u->second;
      } else if (auto m = b.ssrc_mid.find(p.ssrc()); m != b.ssrc_mid.end()) {
        if (auto mu = b.mid_user.find(m->second); mu != b.mid_user.end()) user = mu->second;
      }
      if (!user.empty()) {
        ++b.from_user[user];
        b.last_from_user[user] = now;
      }
      return;
    }
    default:
      return;  // RTCP (receiver reports, TWCC feedback): accepted, not needed for the report
  }
}

void send_frame(Bot& b, std::int64_t t_ms, std::int64_t now) {
  const bot::OpusFrame& fr = b.opus->at(t_ms);
  std::uint32_t ts = b.ts;
  b.ts += 960;
  if (fr.data.empty()) return;  // DTX: nothing to send
  std::array<std::uint8_t, 1500> payload{};
  std::copy(fr.data.begin(), fr.data.end(), payload.begin());
  int len = bot::opus_stamp(payload.data(), static_cast<int>(fr.data.size()),
                            static_cast<std::uint64_t>(now));
  std::array<std::uint8_t, 1> level{fr.level};
  std::array<std::uint8_t, 2> tw{};
  rtc::store_be16(tw.data(), b.twcc_seq++);
  std::array<std::uint8_t, 8> st{};
  rtc::store_be64(st.data(), static_cast<std::uint64_t>(now));
  std::array<std::uint8_t, 1600> buf{};
  rtc::RtpBuilder rb(buf, {111, false, b.seq++, ts, b.ssrc});
  rb.add_extension(kExtLevel, level)
      .add_extension(kExtTwcc, tw)
      .add_extension(kExtMid, rtc::as_bytes("0"))
      .add_extension(kExtSendTime, st)
      .payload(rtc::ByteSpan(payload.data(), static_cast<std::size_t>(len)));
  std::size_t n = rb.finish();
  if (n == 0 || b.srtp->protect_rtp(buf, n) != rtc::SrtpStatus::kOk) return;
  send_to(b.sock, *b.peer, buf.data(), n);
  ++b.sent;
}

std::string offer_sdp(Bot& b, const rtc::DtlsCertificate& cert) {
  rtc::sdp::SessionDescription sd;
  sd.session_id = random_u64() >> 2;
  sd.msid_semantic = "WMS *";
  rtc::sdp::MediaSection m;
  m.kind = "audio";
  m.formats = {"111"};
  m.mid = "0";
  m.direction = rtc::sdp::Direction::kSendRecv;
  m.rtcp_mux = true;
  m.ice_ufrag = b.local.ufrag;
  m.ice_pwd = b.local.pwd;
  m.fingerprint = cert.sdp_fingerprint();
  m.setup = rtc::sdp::Setup::kActpass;
  m.codecs.push_back(
      {111, "opus", 48000, 2, "minptime=10;useinbandfec=1;usedtx=1", {"transport-cc", "nack"}});
  m.extmaps.push_back({kExtLevel, "", std::string(rtc::ext_uri::kAudioLevel), ""});
  m.extmaps.push_back({kExtTwcc, "", std::string(rtc::ext_uri::kTransportCc), ""});
  m.extmaps.push_back({kExtMid, "", std::string(rtc::ext_uri::kMid), ""});
  m.extmaps.push_back({kExtSendTime, "", kSendTimeUri, ""});
  m.msids.push_back("bot bot-audio");
  m.ssrcs.push_back({b.ssrc, "cname", "bot" + std::to_string(b.index)});
  sd.media.push_back(std::move(m));
  sd.groups.push_back({"BUNDLE", {"0"}});
  return rtc::sdp::write(sd);
}

// Answers a server offer: same sections, directions mirrored, our transport attributes.
std::string answer_sdp(const std::string& offer, Bot& b, const rtc::DtlsCertificate& cert) {
  auto sd = rtc::sdp::parse(offer);
  if (!sd) return {};
  sd->ice_lite = false;
  for (auto& m : sd->media) {
    m.direction = rtc::sdp::reverse(m.direction);
    m.ice_ufrag = b.local.ufrag;
    m.ice_pwd = b.local.pwd;
    m.fingerprint = cert.sdp_fingerprint();
    m.setup = rtc::sdp::Setup::kActive;
    m.candidates.clear();
    m.ssrcs.clear();
    m.msids.clear();
  }
  return rtc::sdp::write(*sd);
}

// Starts ICE (controlling, towards the candidates in `m`) and DTLS for one transport.
void connect_media(Bot& t, const rtc::sdp::MediaSection& m, std::shared_ptr<rtc::DtlsContext> ctx,
                   rtc::DtlsRole role) {
  std::lock_guard lock(t.mu);
  if (t.ready) return;  // a repeated answer
  t.remote = {m.ice_ufrag, m.ice_pwd};
  rtc::ice::IceAgentConfig ic;
  ic.local = t.local;
  ic.remote = t.remote;
  t.ice = std::make_unique<rtc::ice::IceAgent>(ic);
  for (auto& c : m.candidates)
    if (auto a = SocketAddress::parse_ip(c.address, c.port); a && a->is_v4())
      t.ice->add_remote_candidate(*a, c.priority);
  auto d = rtc::DtlsSession::create(ctx, role, m.fingerprint);
  if (!d) throw std::runtime_error("dtls: " + d.error().message);
  t.dtls = std::move(d.value());
  t.ice->start(now_us() / 1000);
  t.ready = true;
}

void run_signaling(Bot& b, const std::string& channel, std::shared_ptr<rtc::DtlsContext> ctx,
                   std::atomic<bool>& stop) {
  // Below the media thread: hundreds of signaling threads woken at once by a broadcast
  // (speaking events) must not delay the packets the media thread sends.
  ::setpriority(PRIO_PROCESS, 0, 10);
  try {
    b.join_start_us = now_us();
    auto j = b.rest->call("POST", "/voice/join/" + channel, json::object{}, b.token);
    if (j.status != 200) throw std::runtime_error("voice join: HTTP " + std::to_string(j.status));
    {
      std::lock_guard lock(b.mu);
      b.joined = true;
    }
    auto& jo = j.body.as_object();
    if (!jo.at("sfu").is_object()) throw std::runtime_error("no SFU node for this channel");
    std::string url(jo.at("sfu").at("url").as_string()), host, port, path;
    bot::split_url(url, host, port, path);
    b.ws.connect(host, port, path);
    b.ws.send(json::object{
        {"op", "identify"},
        {"d", json::object{{"token", jo.at("voice_token")}, {"channel_id", channel}}}});
    for (;;) {
      auto f = b.ws.receive();
      auto& fo = f.as_object();
      std::string op(fo.at("op").as_string());
      if (op == "ready") {
        std::lock_guard lock(b.mu);
        b.ws.send(json::object{{"op", "offer"},
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
            auto& s = sv.as_object();
            auto ssrc = static_cast<std::uint32_t>(s.at("ssrc").to_number<std::uint64_t>());
            if (auto* u = s.if_contains("user_id"); u && u->is_string())
              b.ssrc_user[ssrc] = std::string(u->as_string());
            if (s.contains("slot")) {
              b.ssrc_mid[ssrc] = std::string(s.at("mid").as_string());
              ++slots;
            }
          }
          b.audio_slots = std::max(b.audio_slots, slots);
        }
        b.ws.send(
            json::object{{"op", "answer"},
                         {"d", json::object{{"sdp", answer_sdp(std::string(d.at("sdp").as_string()),
                                                               b, ctx->certificate())},
                                            {"version", d.at("version")}}}});
      } else if (op == "slots") {
        std::lock_guard lock(b.mu);
        for (auto& sv : fo.at("d").at("slots").as_array()) {
          auto& s = sv.as_object();
          auto& u = s.at("user_id");
          b.mid_user[std::string(s.at("mid").as_string())] =
              u.is_string() ? std::string(u.as_string()) : std::string();
        }
      } else if (op == "error") {
        throw std::runtime_error("server: " + json::serialize(fo.at("d")));
      }
    }
  } catch (const std::exception& e) {
    if (!stop.load()) {
      std::lock_guard lock(b.mu);
      b.error = e.what();
    }
  }
  b.signaling_done = true;
}

// Every bot that holds a voice state leaves it over REST (a few in parallel).
void leave_all(std::vector<std::unique_ptr<Bot>>& bots) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
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

// --hold: voice states only (seats in a channel whose media runs elsewhere, e.g. P2P).
int run_hold(std::vector<std::unique_ptr<Bot>>& bots, const std::string& channel, double duration,
             bool as_json) {
  json::array errors;
  int held = 0;
  for (auto& b : bots) {
    if (g_signaled.load()) break;
    try {
      auto j = b->rest->call("POST", "/voice/join/" + b->channel, json::object{}, b->token);
      if (j.status != 200) throw std::runtime_error("voice join: HTTP " + std::to_string(j.status));
      b->joined = true;
      ++held;
    } catch (const std::exception& e) {
      errors.push_back(json::value(e.what()));
    }
  }
  std::int64_t until = now_us() + static_cast<std::int64_t>(duration * 1e6);
  while (!g_signaled.load() && now_us() < until) ::poll(nullptr, 0, 50);
  leave_all(bots);
  int left = 0;
  json::array ids;
  for (auto& b : bots) {
    ids.push_back(json::value(b->user_id));
    if (!b->joined) ++left;
  }
  json::object report{{"mode", "hold"},
                      {"bots", static_cast<std::int64_t>(bots.size())},
                      {"channel_id", channel},
                      {"held", held},
                      {"left", left - (static_cast<int>(bots.size()) - held)},
                      {"signaled", g_signaled.load()},
                      {"errors", std::move(errors)},
                      {"bot_user_ids", std::move(ids)}};
  if (as_json) {
    std::printf("%s\n", json::serialize(report).c_str());
  } else {
    for (auto& [k, v] : report) std::printf("%-28s %s\n", k.data(), json::serialize(v).c_str());
  }
  std::fflush(stdout);
  return held == static_cast<int>(bots.size()) ? 0 : 3;
}

// --target janus: the same bots against Janus's videoroom. Every bot joins as a publisher
// (presence); speakers also publish their audio; once every speaker's feed exists, each bot
// subscribes to all other speakers' feeds on a second PeerConnection.
struct JanusRoom {
  std::string url;
  std::uint64_t room = 0;
  std::size_t speakers = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, std::uint64_t>> feeds;  // bot index, feed id
};

void run_janus_signaling(Bot& b, JanusRoom& jr, std::shared_ptr<rtc::DtlsContext> ctx,
                         std::atomic<bool>& stop) {
  auto sdp_of = [](const JanusEvent& e) {
    auto sd = rtc::sdp::parse(std::string(e.jsep.at("sdp").as_string()));
    if (!sd || sd->media.empty()) throw std::runtime_error("janus: bad SDP");
    return *sd;
  };
  try {
    b.join_start_us = now_us();
    bot::JanusClient jc(jr.url);
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
        if (std::lock_guard l(p.mu); p.srtp) break;
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

double percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
  return static_cast<double>(v[i]);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hype-bot: voice load and test client for the Hype SFU"};
  std::string server = "http://127.0.0.1:8080", channel, invite;
  int count = 10, speakers = 3;
  double duration = 10;
  bool as_json = false, hold = false;
  bot::TalkOptions talk;
  app.add_option("--server", server, "Hype server URL");
  app.add_option("--count", count, "number of bots")->check(CLI::Range(1, 1000));
  app.add_option("--speakers", speakers, "bots that talk (the first K)");
  app.add_option("--duration", duration, "seconds of media after everyone joined");
  app.add_option("--channel", channel, "voice channel id (default: create users, guild, channel)");
  app.add_option("--invite", invite, "invite code to join the channel's guild (with --channel)");
  app.add_flag("--json", as_json, "print the report as JSON");
  app.add_flag("--hold", hold,
               "only hold voice states: REST-join the channel, no media, leave after --duration "
               "seconds or on SIGINT/SIGTERM");
  app.add_flag("--continuous", talk.continuous, "speakers talk without pauses");
  app.add_option("--level-step", talk.level_step_db,
                 "speaker i talks i*STEP dB quieter than speaker 0 (last-N tests)");
  std::string target = "hype", janus_url = "http://127.0.0.1:8088/janus";
  std::uint64_t janus_room = 0;
  std::string go_file;
  double join_timeout = 20, warmup = 0;
  app.add_option("--warmup", warmup, "seconds of media before latency samples count");
  app.add_option("--go-file", go_file,
                 "start media once connected and this file exists (without it, speakers talk "
                 "from the moment they are connected; what counts starts once all are)");
  app.add_option("--join-timeout", join_timeout, "seconds to wait for every bot to connect");
  app.add_option("--target", target, "server kind: hype, or janus (videoroom plugin)")
      ->check(CLI::IsMember({"hype", "janus"}));
  app.add_option("--janus-url", janus_url, "Janus HTTP API base URL (with --target janus)");
  app.add_option("--janus-room", janus_room, "videoroom room id to create (default: random)");
  int channels = 1;
  app.add_option("--channels", channels, "channels (rooms) to create, --count bots in each")
      ->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends it at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  speakers = std::clamp(speakers, 0, count);
  if (channels > 1 && !channel.empty()) {
    std::fprintf(stderr, "--channels > 1 creates its channels: no --channel\n");
    return 2;
  }
  const int total = count * channels;
  const bool janus = target == "janus";
  if (janus && hold) {
    std::fprintf(stderr, "--hold holds hype voice states: not with --target janus\n");
    return 2;
  }
  if (janus) server = janus_url;

  std::string host, port, path;
  if (!bot::split_url(server, host, port, path)) {
    std::fprintf(stderr, "bad --server URL\n");
    return 2;
  }
  RestClient rest(host, port);
  auto cert = rtc::DtlsCertificate::generate("hype-bot");
  auto ctx = rtc::DtlsContext::create(cert.value());
  if (!ctx) {
    std::fprintf(stderr, "DTLS: %s\n", ctx.error().message.c_str());
    return 1;
  }
  std::vector<std::unique_ptr<Bot>> bots;
  std::string run = random_token(4);
  std::vector<std::unique_ptr<JanusRoom>> jrooms;
  if (janus) {
    try {
      bot::JanusClient jc(janus_url);
      jc.create_session();
      auto h = jc.attach("janus.plugin.videoroom");
      for (int g = 0; g < channels; ++g) {
        auto& jroom = *jrooms.emplace_back(std::make_unique<JanusRoom>());
        jroom.url = janus_url;
        jroom.room = janus_room && channels == 1 ? janus_room : 1 + (random_u64() >> 34);
        jroom.speakers = static_cast<std::size_t>(speakers);
        jc.message(h, json::object{{"request", "create"},
                                   {"room", jroom.room},
                                   {"publishers", count + 1},
                                   {"audiocodec", "opus"},
                                   {"audiolevel_ext", true},
                                   {"notify_joining", false}});
      }
      jc.destroy_session();
      for (int i = 0; i < total; ++i) {
        auto b = std::make_unique<Bot>();
        b->index = i % count;
        b->group = i / count;
        b->speaker = b->index < speakers;
        if (b->speaker) {
          auto p = std::make_unique<Bot>();
          p->index = b->index;
          p->group = b->group;
          p->speaker = p->pub_only = true;
          b->pub = p.get();
          bots.push_back(std::move(p));
        }
        bots.push_back(std::move(b));
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "janus setup failed: %s\n", e.what());
      return 1;
    }
  }
  std::vector<std::string> channel_ids(static_cast<std::size_t>(channels), channel),
      invite_codes(static_cast<std::size_t>(channels), invite);
  try {
    std::string guild;
    for (int i = 0; i < (janus ? 0 : total) && !g_signaled.load(); ++i) {
      auto b = std::make_unique<Bot>();
      b->index = i % count;
      b->group = i / count;
      b->speaker = b->index < speakers;
      b->rest = &rest;
      std::string& chan = channel_ids[static_cast<std::size_t>(b->group)];
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
      bots.push_back(std::move(b));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "setup failed: %s\n", e.what());
    return 1;
  }

  if (hold) return run_hold(bots, channel_ids.front(), duration, as_json);

  std::map<int, std::unique_ptr<bot::OpusLoop>> opus_loops;
  for (auto& b : bots) {
    // Janus offers the machine's eth0 address, never 127.0.0.1. The kernel's arrival stamps
    // keep the bot's own scheduling delay out of the latency it reports (many bots share one
    // thread, and several bot processes one core in bench/voice).
    bool any = janus || (host != "127.0.0.1" && host != "localhost");
    try {
      b->sock = net::UdpSocket::bind(SocketAddress::v4(any ? INADDR_ANY : INADDR_LOOPBACK, 0),
                                     {.receive_buffer = 1 << 20, .rx_timestamps = true});
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "udp socket: %s\n", e.what());
      return 1;
    }
    b->local = rtc::ice::random_credentials();
    random_bytes(&b->ssrc, sizeof(b->ssrc));
    random_bytes(&b->seq, sizeof(b->seq));
    random_bytes(&b->ts, sizeof(b->ts));
    auto& loop = opus_loops[b->index];
    if (!loop) loop = std::make_unique<bot::OpusLoop>(b->index, talk);
    b->opus = loop.get();
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> sig;
  for (auto& b : bots) {
    if (b->pub_only) continue;
    if (janus)
      sig.emplace_back([&, bp = b.get()] {
        run_janus_signaling(*bp, *jrooms[static_cast<std::size_t>(bp->group)], ctx.value(), stop);
      });
    else
      sig.emplace_back([&, bp = b.get()] { run_signaling(*bp, bp->channel, ctx.value(), stop); });
  }

  // Media: wait until everyone is connected (or --join-timeout), then count `duration`
  // seconds of media, then keep receiving for a moment so nothing in flight counts as lost.
  // Without --go-file speakers talk from the moment they are connected (a joining bot hears
  // audio as a user would: join time is to the first remote audio); packets stamped before
  // media_start only count for the join time. With --go-file (bench/voice) nobody talks
  // before media_start, so that no join overlaps anyone's media.
  const bool talk_early = go_file.empty();
  std::int64_t start = now_us();
  std::int64_t media_start = -1, media_end = -1;
  const auto join_timeout_us = static_cast<std::int64_t>(join_timeout * 1e6);
  bool connected_said = false;
  // epoll, and timers swept every 5 ms: with hundreds of bots per process a poll() over
  // every socket per wake-up cost more than the packets themselves.
  int ep = ::epoll_create1(0);
  for (std::size_t i = 0; i < bots.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, bots[i]->sock.fd(), &ev);
  }
  std::vector<epoll_event> evs(bots.size());
  std::vector<char> readable(bots.size());
  std::int64_t next_sweep = 0;
  net::RxBatch rx(16, 1500);
  while (!g_signaled.load()) {
    // 2 ms: the senders' frame phases are spread
    int nev = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 2);
    for (int k = 0; k < nev; ++k) readable[evs[static_cast<std::size_t>(k)].data.u64] = 1;
    std::int64_t now = now_us();
    const bool sweep = now >= next_sweep;
    if (sweep) next_sweep = now + 5'000;
    const std::int64_t window_us = media_start >= 0 ? media_start : INT64_MAX;
    bool all_connected = true;
    for (std::size_t i = 0; i < bots.size(); ++i) {
      if (!sweep && !readable[i]) continue;
      Bot& b = *bots[i];
      std::lock_guard lock(b.mu);
      if (!b.ready) {
        all_connected = false;
        continue;
      }
      while (readable[i]) {
        std::size_t n = rx.receive(b.sock);
        if (n == 0) {
          readable[i] = 0;
          break;
        }
        // The kernel's arrival time: latency excludes this loop's delay.
        for (std::size_t k = 0; k < n; ++k)
          on_datagram(b, rx.data(k), rx.size(k), rx.from(k), rx.arrival_us(k, now), window_us);
      }
      std::int64_t t = b.ice->next_timeout_ms();
      if (t >= 0 && t <= now / 1000) b.ice->handle_timeout(now / 1000);
      if (b.dtls->timeout_ms() == 0) b.dtls->handle_timeout();
      flush_ice(b);
      if (!b.srtp) all_connected = false;
    }
    if (media_start < 0 && !connected_said && sweep &&
        (all_connected || now - start > join_timeout_us)) {
      connected_said = true;
      std::fprintf(stderr, "hype-bot: connected\n");
    }
    // --go-file: several bot processes (bench/voice) start their media at the same moment.
    if (media_start < 0 && connected_said &&
        (go_file.empty() || ::access(go_file.c_str(), F_OK) == 0)) {
      media_start = now + 300'000;  // let the last subscription offers settle
      media_end = media_start + static_cast<std::int64_t>(duration * 1e6);
      for (auto& b : bots) {
        std::lock_guard lock(b->mu);
        b->latency_from_us = media_start + static_cast<std::int64_t>(warmup * 1e6);
        // Each sender its own phase within the 20 ms frame, like independent clients: no
        // burst of every speaker's packet at once. Early talkers keep theirs.
        if (!talk_early)
          b->next_frame_us = media_start + static_cast<std::int64_t>(random_u64() % 20'000);
      }
      std::fprintf(stderr, "hype-bot: media start\n");  // bench/voice times its window by it
    }
    // The talk-spurt loop runs from process start when talking early, else from media_start.
    const std::int64_t talk_epoch = talk_early ? start : media_start;
    const bool sending =
        media_end < 0 ? talk_early : now < media_end && (talk_early || now >= media_start);
    if (sending) {
      for (auto& b : bots) {
        if (!b->speaker || b->pub) continue;  // Janus: the pub_only transport sends
        if (b->next_frame_us == 0) {          // talking early: from the bot's connection on
          std::lock_guard lock(b->mu);
          if (!b->srtp || !b->peer) continue;
          b->next_frame_us = now + static_cast<std::int64_t>(random_u64() % 20'000);
        }
        if (now < b->next_frame_us) continue;  // only this thread touches next_frame_us
        b->next_frame_us += 20'000;
        std::lock_guard lock(b->mu);
        if (!b->srtp || !b->peer) continue;
        std::int64_t stamp = now_us();  // a fresh stamp: not the poll's
        std::uint64_t before = b->sent;
        send_frame(*b, (now - talk_epoch) / 1000, stamp);
        if (media_start >= 0 && stamp >= media_start) b->sent_in_window += b->sent - before;
      }
    }
    if (media_end >= 0 && now > media_end + 700'000) break;
  }
  stop = true;
  for (auto& jr : jrooms) {
    std::lock_guard lock(jr->mu);
    jr->cv.notify_all();
  }
  // An abort before a bot's WebSocket is connected does nothing (on SIGINT some may still be
  // connecting): repeat until every signaling thread is out. Janus threads block in HTTP
  // calls with their own timeouts: they are only waited for.
  for (bool all_done = false; !all_done && !janus; ::poll(nullptr, 0, all_done ? 0 : 20)) {
    all_done = true;
    for (auto& b : bots)
      if (!b->pub_only && !b->signaling_done.load()) {
        b->ws.abort();
        all_done = false;
      }
  }
  for (auto& t : sig) t.join();
  ::close(ep);
  leave_all(bots);

  std::uint64_t sent = 0, received = 0, expected = 0;
  std::vector<std::int64_t> lat, join, connect;
  std::int64_t warmup_max = 0;
  int heard_all = 0, connected = 0;
  std::size_t max_streams = 0;
  json::array errors, per_bot;
  std::map<std::string, std::uint64_t> from_user;  // publisher user id -> packets all bots got
  std::map<std::string, int> hearing_user;         // publisher user id -> bots that got any
  for (auto& b : bots) {
    sent += b->sent_in_window;
    if (b->pub_only) {
      b->sock.close();
      continue;
    }
    std::size_t streams = 0;
    for (auto& [ssrc, s] : b->streams) {
      received += s.received;
      expected += static_cast<std::uint64_t>(s.highest - s.first + 1);
      streams += s.received > 0;
    }
    max_streams = std::max(max_streams, streams);
    // "Heard" = distinct users received; with last-N at most one per audio slot at a time.
    json::array heard, heard_at_end;
    for (auto& [user, n] : b->from_user) {
      from_user[user] += n;
      ++hearing_user[user];
      heard.push_back(json::value(user));
      if (b->last_from_user[user] >= media_end - 1'000'000)
        heard_at_end.push_back(json::value(user));
    }
    int should = speakers - (b->speaker ? 1 : 0);
    if (b->audio_slots > 0) should = std::min(should, static_cast<int>(b->audio_slots));
    if (static_cast<int>(heard.size()) >= should) ++heard_all;
    per_bot.push_back(json::object{{"user_id", b->user_id},
                                   {"audio_slots", b->audio_slots},
                                   {"streams", streams},
                                   {"heard", std::move(heard)},
                                   {"heard_at_end", std::move(heard_at_end)}});
    lat.insert(lat.end(), b->latency_us.begin(), b->latency_us.end());
    warmup_max = std::max(warmup_max, b->warmup_max_us);
    connected += b->join_done_us > 0;
    // Connect time: the start of the join (/voice/join, the user's click) to DTLS connected;
    // join time: to the first remote audio packet.
    if (b->join_done_us > 0) connect.push_back(b->join_done_us - b->join_start_us);
    if (b->first_rx_us > 0) join.push_back(b->first_rx_us - b->join_start_us);
    if (!b->error.empty()) errors.push_back(json::value(b->error));
    b->sock.close();
  }
  double loss = expected ? 100.0 * static_cast<double>(expected - std::min(expected, received)) /
                               static_cast<double>(expected)
                         : 100.0;
  json::object report{{"target", target},
                      {"bots", total},
                      {"channels", channels},
                      {"speakers", speakers},
                      {"channel_id", channel_ids.front()},
                      {"connected", connected},
                      {"bots_hearing_every_speaker", heard_all},
                      {"packets_sent", sent},
                      {"packets_received", received},
                      {"packets_expected", expected},
                      {"loss_pct", loss},
                      {"latency_ms_p50", percentile(lat, 0.5) / 1000.0},
                      {"latency_ms_p99", percentile(lat, 0.99) / 1000.0},
                      {"join_ms_p50", percentile(join, 0.5) / 1000.0},
                      {"join_ms_p99", percentile(join, 0.99) / 1000.0},
                      {"connect_ms_p50", percentile(connect, 0.5) / 1000.0},
                      {"connect_ms_p99", percentile(connect, 0.99) / 1000.0},
                      {"max_streams_per_bot", max_streams},
                      {"signaled", g_signaled.load()},
                      {"errors", std::move(errors)}};
  // Raw distributions for bench/voice, which merges several bot processes: latency in 10 us
  // buckets (sparse, "bucket": count), join and connect times in ms.
  json::object hist;
  for (auto& v : lat) {
    auto& c = hist[std::to_string(std::max<std::int64_t>(0, v) / 10)];
    c = c.is_null() ? 1 : c.to_number<std::int64_t>() + 1;
  }
  report["latency_hist_10us"] = std::move(hist);
  report["warmup_latency_ms_max"] = static_cast<double>(warmup_max) / 1000.0;
  json::array joins, connects;
  for (auto v : join) joins.push_back(static_cast<double>(v) / 1000.0);
  for (auto v : connect) connects.push_back(static_cast<double>(v) / 1000.0);
  report["join_ms"] = std::move(joins);
  report["connect_ms"] = std::move(connects);
  json::object by_sender;
  for (auto& [user, n] : from_user) by_sender[user] = n;
  report["packets_received_by_sender"] = std::move(by_sender);
  json::object hearing;
  for (auto& [user, n] : hearing_user) hearing[user] = n;
  report["bots_hearing_sender"] = std::move(hearing);
  json::array ids;
  for (auto& b : bots)
    if (!b->pub_only) ids.push_back(json::value(b->user_id));
  report["bot_user_ids"] = std::move(ids);
  report["per_bot"] = std::move(per_bot);
  if (as_json) {
    std::printf("%s\n", json::serialize(report).c_str());
  } else {
    for (auto& [k, v] : report) std::printf("%-28s %s\n", k.data(), json::serialize(v).c_str());
  }
  std::fflush(stdout);
  return heard_all == total && connected == total ? 0 : 3;
}
