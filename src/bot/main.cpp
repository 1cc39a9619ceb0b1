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
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
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

#include "bot/signaling_client.hpp"
#include "core/random.hpp"
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
  int fd = -1;
  std::string user_id, token;
  RestClient* rest = nullptr;
  bot::VoiceSocket ws;
  rtc::ice::IceCredentials local, remote;
  std::unique_ptr<rtc::ice::IceAgent> ice;
  std::unique_ptr<rtc::DtlsSession> dtls;
  std::unique_ptr<rtc::SrtpSession> srtp;
  std::optional<rtc::SocketAddress> peer;
  bool ready = false, dtls_started = false;
  std::unordered_map<std::uint32_t, std::string> ssrc_user;  // per-publisher streams
  std::unordered_map<std::uint32_t, std::string> ssrc_mid;   // slot streams
  std::unordered_map<std::string, std::string> mid_user;     // from the latest slots event
  std::unordered_map<std::uint32_t, Stream> streams;
  std::map<std::string, std::uint64_t> from_user;  // packets by publisher at receipt
  std::map<std::string, std::int64_t> last_from_user;
  std::size_t audio_slots = 0;
  bool joined = false;  // holds a REST voice state
  std::atomic<bool> signaling_done{false};
  std::int64_t first_rx_us = -1;
  std::uint32_t ssrc = 0;
  std::uint16_t seq = 0, twcc_seq = 0;
  std::uint32_t ts = 0;
  OpusEncoder* enc = nullptr;
  std::uint64_t sent = 0, sent_in_window = 0;
  std::int64_t join_start_us = 0, join_done_us = -1;
  std::vector<std::int64_t> latency_us;
  std::string error;
};

void send_to(int fd, const rtc::SocketAddress& to, const std::uint8_t* d, std::size_t n) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(to.port);
  std::memcpy(&a.sin_addr, to.ip.data(), 4);
  ::sendto(fd, d, n, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&a), sizeof(a));
}

void flush_ice(Bot& b) {
  rtc::ice::Transmit t;
  while (b.ice->poll_transmit(t)) send_to(b.fd, t.to, t.data.data(), t.size);
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
    while (auto dg = b.dtls->pop_datagram()) send_to(b.fd, *b.peer, dg->data(), dg->size());
}

// Packets sent before `window_us` (send-time extension) only count for the join time.
void on_datagram(Bot& b, std::uint8_t* buf, std::size_t n, const rtc::SocketAddress& from,
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
      if (auto v = p.find_extension(kExtSendTime); v && v->size() == 8)
        sent_at = static_cast<std::int64_t>(rtc::load_be64(v->data()));
      // Packets of other clients (a browser) carry no send stamp: counted, without latency.
      if (sent_at >= 0 && sent_at < window_us) return;
      Stream& s = b.streams[p.ssrc()];
      std::int64_t q = s.unwrap.unwrap(p.sequence_number());
      if (!s.any) s.first = s.highest = q, s.any = true;
      s.first = std::min(s.first, q);
      s.highest = std::max(s.highest, q);
      ++s.received;
      if (sent_at >= 0) b.latency_us.push_back(now - sent_at);
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

struct TalkOptions {
  bool continuous = false;   // no 1 s pauses
  double level_step_db = 0;  // speaker i is i * step dB quieter than speaker 0
};

void send_frame(Bot& b, std::int64_t t_ms, std::int64_t now, const TalkOptions& talk) {
  std::array<float, 960> pcm{};
  bool talking = talk.continuous || (t_ms / 1000 + b.index) % 3 != 2;  // 2 s talk, 1 s silence
  double sum = 0;
  if (talking) {
    double f = 300.0 + 40.0 * b.index;
    double amp = 0.3 * std::pow(10.0, -talk.level_step_db * b.index / 20.0);
    for (std::size_t i = 0; i < pcm.size(); ++i) {
      double t = (static_cast<double>(b.ts) + static_cast<double>(i)) / 48000.0;
      pcm[i] = static_cast<float>(amp * std::sin(2 * M_PI * f * t));
      sum += pcm[i] * pcm[i];
    }
  }
  std::array<std::uint8_t, 1500> payload{};
  int len = opus_encode_float(b.enc, pcm.data(), 960, payload.data(), 1275);
  std::uint32_t ts = b.ts;
  b.ts += 960;
  if (len <= 2) return;  // DTX: nothing to send
  double rms = std::sqrt(sum / pcm.size());
  int dbov = rms > 0 ? static_cast<int>(-20 * std::log10(rms)) : 127;
  std::array<std::uint8_t, 1> level{
      static_cast<std::uint8_t>((talking ? 0x80 : 0) | std::clamp(dbov, 0, 127))};
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
  send_to(b.fd, *b.peer, buf.data(), n);
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

void run_signaling(Bot& b, const std::string& channel, std::shared_ptr<rtc::DtlsContext> ctx,
                   std::atomic<bool>& stop) {
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
        auto& m = sd->media.front();
        std::lock_guard lock(b.mu);
        if (b.ready) continue;
        b.remote = {m.ice_ufrag, m.ice_pwd};
        rtc::ice::IceAgentConfig ic;
        ic.local = b.local;
        ic.remote = b.remote;
        b.ice = std::make_unique<rtc::ice::IceAgent>(ic);
        for (auto& c : m.candidates)
          if (auto a = rtc::SocketAddress::parse_ip(c.address, c.port)) {
            if (a->is_v4()) b.ice->add_remote_candidate(*a, c.priority);
          }
        auto d = rtc::DtlsSession::create(ctx, rtc::DtlsRole::kClient, m.fingerprint);
        if (!d) throw std::runtime_error("dtls: " + d.error().message);
        b.dtls = std::move(d.value());
        b.ice->start(now_us() / 1000);
        b.ready = true;
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
void leave_all(std::vector<std::unique_ptr<Bot>>& bots, const std::string& channel) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w)
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < bots.size(); i = next++) {
        Bot& b = *bots[i];
        if (!b.joined) continue;
        try {
          auto r = b.rest->call("POST", "/voice/leave/" + channel, json::object{}, b.token);
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
      auto j = b->rest->call("POST", "/voice/join/" + channel, json::object{}, b->token);
      if (j.status != 200) throw std::runtime_error("voice join: HTTP " + std::to_string(j.status));
      b->joined = true;
      ++held;
    } catch (const std::exception& e) {
      errors.push_back(json::value(e.what()));
    }
  }
  std::int64_t until = now_us() + static_cast<std::int64_t>(duration * 1e6);
  while (!g_signaled.load() && now_us() < until) ::poll(nullptr, 0, 50);
  leave_all(bots, channel);
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
  TalkOptions talk;
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
  CLI11_PARSE(app, argc, argv);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends it at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  speakers = std::clamp(speakers, 0, count);

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
  try {
    std::string guild;
    for (int i = 0; i < count && !g_signaled.load(); ++i) {
      auto b = std::make_unique<Bot>();
      b->index = i;
      b->speaker = i < speakers;
      b->rest = &rest;
      std::string name = "bot_" + run + "_" + std::to_string(i);
      auto r = rest.call("POST", "/auth/register",
                         json::object{{"username", name}, {"password", "bot-password-" + run}});
      if (r.status != 201) throw std::runtime_error("register: HTTP " + std::to_string(r.status));
      b->token = std::string(r.body.at("access_token").as_string());
      b->user_id = std::string(r.body.at("user").at("id").as_string());
      if (channel.empty() && i == 0) {
        auto g = rest.call("POST", "/guilds", json::object{{"name", "bots " + run}}, b->token);
        guild = std::string(g.body.at("id").as_string());
        auto chans = rest.call("GET", "/guilds/" + guild + "/channels", nullptr, b->token);
        for (auto& c : chans.body.as_array())
          if (c.at("kind").as_string() == "voice") channel = std::string(c.at("id").as_string());
        auto inv = rest.call("POST", "/guilds/" + guild + "/invites", json::object{}, b->token);
        invite = std::string(inv.body.at("code").as_string());
      } else if (!invite.empty()) {
        auto j = rest.call("POST", "/invites/" + invite, json::object{}, b->token);
        if (j.status != 200 && j.status != 409)
          throw std::runtime_error("invite: HTTP " + std::to_string(j.status));
      }
      bots.push_back(std::move(b));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "setup failed: %s\n", e.what());
    return 1;
  }

  if (hold) return run_hold(bots, channel, duration, as_json);

  for (auto& b : bots) {
    b->fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (host != "127.0.0.1" && host != "localhost") a.sin_addr.s_addr = htonl(INADDR_ANY);
    ::bind(b->fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    int buf = 1 << 20;
    setsockopt(b->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    b->local = rtc::ice::random_credentials();
    random_bytes(&b->ssrc, sizeof(b->ssrc));
    random_bytes(&b->seq, sizeof(b->seq));
    random_bytes(&b->ts, sizeof(b->ts));
    int err = 0;
    b->enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
    opus_encoder_ctl(b->enc, OPUS_SET_BITRATE(32000));
    opus_encoder_ctl(b->enc, OPUS_SET_DTX(1));
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> sig;
  for (auto& b : bots)
    sig.emplace_back([&, bp = b.get()] { run_signaling(*bp, channel, ctx.value(), stop); });

  // Media: wait until everyone is connected (or 20 s), then send for `duration` seconds,
  // then keep receiving for a moment so nothing in flight counts as lost.
  std::int64_t start = now_us();
  std::int64_t media_start = -1, media_end = -1, next_frame = 0;
  std::vector<pollfd> pfds(bots.size());
  std::array<std::uint8_t, 2048> buf{};
  for (;;) {
    for (std::size_t i = 0; i < bots.size(); ++i) pfds[i] = {bots[i]->fd, POLLIN, 0};
    ::poll(pfds.data(), pfds.size(), 5);
    std::int64_t now = now_us();
    bool all_connected = true;
    for (std::size_t i = 0; i < bots.size(); ++i) {
      Bot& b = *bots[i];
      std::lock_guard lock(b.mu);
      if (!b.ready) {
        all_connected = false;
        continue;
      }
      for (;;) {
        sockaddr_in from{};
        socklen_t fl = sizeof(from);
        ssize_t n = ::recvfrom(b.fd, buf.data(), 1500, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n <= 0) break;
        on_datagram(b, buf.data(), static_cast<std::size_t>(n),
                    rtc::SocketAddress::v4(ntohl(from.sin_addr.s_addr), ntohs(from.sin_port)), now,
                    media_start >= 0 ? media_start : INT64_MAX);
      }
      std::int64_t t = b.ice->next_timeout_ms();
      if (t >= 0 && t <= now / 1000) b.ice->handle_timeout(now / 1000);
      if (b.dtls->timeout_ms() == 0) b.dtls->handle_timeout();
      flush_ice(b);
      if (!b.srtp) all_connected = false;
    }
    if (media_start < 0 && (all_connected || now - start > 20'000'000)) {
      media_start = now + 300'000;  // let the last subscription offers settle
      media_end = media_start + static_cast<std::int64_t>(duration * 1e6);
    }
    // Speakers talk from the moment they are connected (so a joining bot hears audio as a
    // user would); what is counted starts at media_start.
    if (now >= next_frame && (media_end < 0 || now < media_end)) {
      next_frame = (next_frame == 0 ? now : next_frame) + 20'000;
      for (auto& b : bots) {
        std::lock_guard lock(b->mu);
        if (!b->speaker || !b->srtp || !b->peer) continue;
        std::uint64_t before = b->sent;
        send_frame(*b, (now - start) / 1000, now, talk);
        if (media_start >= 0 && now >= media_start) b->sent_in_window += b->sent - before;
      }
    }
    if (media_end >= 0 && now > media_end + 700'000) break;
    if (g_signaled.load()) break;
  }
  stop = true;
  // An abort before a bot's WebSocket is connected does nothing (on SIGINT some may still be
  // connecting): repeat until every signaling thread is out.
  for (bool all_done = false; !all_done; ::poll(nullptr, 0, all_done ? 0 : 20)) {
    all_done = true;
    for (auto& b : bots)
      if (!b->signaling_done.load()) {
        b->ws.abort();
        all_done = false;
      }
  }
  for (auto& t : sig) t.join();
  leave_all(bots, channel);

  std::uint64_t sent = 0, received = 0, expected = 0;
  std::vector<std::int64_t> lat, join;
  int heard_all = 0, connected = 0;
  std::size_t max_streams = 0;
  json::array errors, per_bot;
  std::map<std::string, std::uint64_t> from_user;  // publisher user id -> packets all bots got
  std::map<std::string, int> hearing_user;         // publisher user id -> bots that got any
  for (auto& b : bots) {
    sent += b->sent_in_window;
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
    connected += b->join_done_us > 0;
    // Join time: the start of the /voice/join call (the user's click) to the first remote
    // audio packet.
    if (b->first_rx_us > 0) join.push_back(b->first_rx_us - b->join_start_us);
    if (!b->error.empty()) errors.push_back(json::value(b->error));
    opus_encoder_destroy(b->enc);
    ::close(b->fd);
  }
  double loss = expected ? 100.0 * static_cast<double>(expected - std::min(expected, received)) /
                               static_cast<double>(expected)
                         : 100.0;
  json::object report{{"bots", count},
                      {"speakers", speakers},
                      {"channel_id", channel},
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
                      {"max_streams_per_bot", max_streams},
                      {"signaled", g_signaled.load()},
                      {"errors", std::move(errors)}};
  json::object by_sender;
  for (auto& [user, n] : from_user) by_sender[user] = n;
  report["packets_received_by_sender"] = std::move(by_sender);
  json::object hearing;
  for (auto& [user, n] : hearing_user) hearing[user] = n;
  report["bots_hearing_sender"] = std::move(hearing);
  json::array ids;
  for (auto& b : bots) ids.push_back(json::value(b->user_id));
  report["bot_user_ids"] = std::move(ids);
  report["per_bot"] = std::move(per_bot);
  if (as_json) {
    std::printf("%s\n", json::serialize(report).c_str());
  } else {
    for (auto& [k, v] : report) std::printf("%-28s %s\n", k.data(), json::serialize(v).c_str());
  }
  return heard_all == count && connected == count ? 0 : 3;
}
