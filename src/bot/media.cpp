// hype-bot's media plane (media.hpp): the per-bot transport and the media thread.
#include "bot/media.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "bot/opus_stamp.hpp"
#include "bot/quality.hpp"
#include "bot/video.hpp"
#include "core/random.hpp"
#include "rtc/demux.hpp"
#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/stun/stun_message.hpp"

namespace hype::bot {

namespace {

void send_to(const net::UdpSocket& sock, const SocketAddress& to, const std::uint8_t* d,
             std::size_t n) {
  sock.send_to(to, d, n);
}

// How long a bot moving to another SFU node keeps its old link once the new one has SRTP:
// the other participants move at about the same moment, and until they have, some of them
// are heard only on the old node.
constexpr std::int64_t kMoveLingerUs = 1'500'000;

void flush_ice(Bot& b, Link& l) {
  rtc::ice::Transmit t;
  while (l.ice->poll_transmit(t)) send_to(b.sock, t.to, t.data.data(), t.size);
  rtc::ice::IceEvent e;
  while (l.ice->poll_event(e)) {
    if (e.type == rtc::ice::IceEvent::Type::kStateChanged && &l == &b.link &&
        (e.state == rtc::ice::IceState::kDisconnected || e.state == rtc::ice::IceState::kFailed)) {
      // The node stopped answering (cut off, or its machine is gone without closing its
      // sockets): end its /voice connection here, so the signaling thread joins again naming
      // it, as the web client's ICE watchdog does.
      b.ws->abort();
    }
    if (e.type == rtc::ice::IceEvent::Type::kSelectedPairChanged) {
      l.peer = e.selected;
      if (!l.dtls_started) {
        l.dtls_started = true;
        l.dtls->start();
      }
    }
  }
  if (l.peer)
    while (auto dg = l.dtls->pop_datagram()) send_to(b.sock, *l.peer, dg->data(), dg->size());
}

// The link a datagram belongs to: the old one (a move in progress) for packets from its
// peer, else the current one.
Link* link_of(Bot& b, const SocketAddress& from) {
  if (b.old && b.old->peer && *b.old->peer == from) return b.old.get();
  return b.link.ready ? &b.link : nullptr;
}

// Packets stamped (by a bot) before `window_us` only count for the join time; packets of
// other clients (a browser) carry no stamp: counted, without a latency sample.
void on_datagram(Bot& b, Link& l, std::uint8_t* buf, std::size_t n, const SocketAddress& from,
                 std::int64_t now, std::int64_t window_us) {
  rtc::MutableByteSpan d(buf, n);
  switch (rtc::classify_packet(d)) {
    case rtc::PacketKind::kStun: {
      rtc::stun::StunMessage m;
      if (rtc::stun::StunMessage::parse(d, m) == rtc::stun::ParseStatus::kOk)
        l.ice->handle_stun(m, from, now / 1000);
      flush_ice(b, l);
      return;
    }
    case rtc::PacketKind::kDtls:
      l.dtls->handle_datagram(d);
      flush_ice(b, l);
      if (l.dtls->state() == rtc::DtlsState::kConnected && !l.srtp && l.dtls->srtp_keys()) {
        auto s = rtc::SrtpSession::create(*l.dtls->srtp_keys());
        if (s) l.srtp = std::move(s.value());
        if (b.join_done_us < 0) b.join_done_us = now;  // the first connection's
        if (&l == &b.link && b.old) b.old_until_us = now + kMoveLingerUs;
      }
      return;
    case rtc::PacketKind::kRtp: {
      if (!l.srtp) return;
      std::size_t len = n;
      if (l.srtp->unprotect_rtp(rtc::MutableByteSpan(buf, 1600), len) != rtc::SrtpStatus::kOk)
        return;
      if (b.vpub || b.vrx) return video_on_rtp(b, rtc::MutableByteSpan(buf, len), now);
      rtc::RtpPacket p;
      if (rtc::RtpPacket::parse(rtc::MutableByteSpan(buf, len), p) != rtc::RtpParseStatus::kOk)
        return;
      if (b.first_rx_us < 0) b.first_rx_us = now;
      std::int64_t sent_at = -1;
      std::optional<std::uint32_t> sender;
      if (auto t = opus_read_stamp(p.payload().data(), p.payload().size())) {
        sent_at = static_cast<std::int64_t>(t->t_us);
        sender = t->sender;
      } else if (auto v = p.find_extension(kExtSendTime); v && v->size() == 8)
        sent_at = static_cast<std::int64_t>(rtc::load_be64(v->data()));
      note_for_report(b, p, len, now, sent_at);
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
      if (sender) {
        auto [last, first] = b.last_from_sender.try_emplace(*sender, now);
        if (!first) {
          std::int64_t& gap = b.max_gap_from_sender[*sender];
          gap = std::max(gap, now - last->second);
          if (now - last->second > Bot::kGapEventUs)
            b.gap_events.emplace_back(last->second, now - last->second);
          last->second = std::max(last->second, now);
        }
      }
      return;
    }
    case rtc::PacketKind::kRtcp: {
      // Voice: receiver reports and TWCC feedback are not needed for the report. Video: the
      // publisher answers PLI/FIR and NACK.
      std::size_t len = n;
      if (!b.vpub || !l.srtp || l.srtp->unprotect_rtcp(d, len) != rtc::SrtpStatus::kOk) return;
      return video_on_rtcp(b, rtc::MutableByteSpan(buf, len), now);
    }
    default:
      return;
  }
}

// Every connected transport sends an RTCP receiver report once a second, as browsers do (RFC
// 3550 wants one from receivers too): a listener that never speaks still sends media, so the
// SFU's join funnel sees its first_packet. No report blocks: the bot keeps no reception
// statistics per stream in RTCP form (its quality reports carry them).
void send_receiver_report(Bot& b, std::int64_t now) {
  if (!b.link.srtp || !b.link.peer || now < b.next_rr_us) return;
  b.next_rr_us = now + 1'000'000;
  std::array<std::uint8_t, 1600> buf{};
  rtc::ByteWriter w(buf);
  if (!rtc::rtcp::write_receiver_report(w, b.ssrc, {})) return;
  std::size_t n = w.size();
  if (b.link.srtp->protect_rtcp(buf, n) != rtc::SrtpStatus::kOk) return;
  send_to(b.sock, *b.link.peer, buf.data(), n);
}

// Protects and sends one RTP packet on a link.
bool send_on(Bot& b, Link& l, std::array<std::uint8_t, 1600>& buf, std::size_t n) {
  if (!l.srtp || !l.peer || l.srtp->protect_rtp(buf, n) != rtc::SrtpStatus::kOk) return false;
  send_to(b.sock, *l.peer, buf.data(), n);
  return true;
}

// An RTP packet (plaintext, `n` bytes of `buf`, protected in place) on every connected link:
// the current one and, only during a move, the old one too, each with its own SRTP context
// (the old one gets a plaintext copy).
bool send_rtp(Bot& b, std::array<std::uint8_t, 1600>& buf, std::size_t n) {
  bool sent = false;
  if (b.old) {
    std::array<std::uint8_t, 1600> copy{};
    std::copy_n(buf.begin(), n, copy.begin());
    sent = send_on(b, *b.old, copy, n);
  }
  return send_on(b, b.link, buf, n) || sent;
}

// The Opus frame length a server's answer asks for, as Chromium picks it (the next length it
// supports up from a=ptime): a=ptime up to 10 gives 10 ms frames, anything else (or none, as
// Janus answers) 20 ms.
int frame_ms_for(const rtc::sdp::MediaSection& m) {
  auto ptime = m.ptime();
  return ptime && *ptime > 0 && *ptime <= 10 ? 10 : 20;
}

std::uint64_t frame_us(const Bot& b) {
  return static_cast<std::uint64_t>(b.frame_ms.load(std::memory_order_relaxed)) * 1000;
}

void send_frame(Bot& b, std::int64_t t_ms, std::int64_t now) {
  const int frame_ms = b.frame_ms.load(std::memory_order_relaxed);
  const OpusFrame& fr = b.opus->at(t_ms, frame_ms);
  std::uint32_t ts = b.ts;
  b.ts += static_cast<std::uint32_t>(48 * frame_ms);
  if (fr.data.empty()) return;  // DTX: nothing to send
  if (b.audio_drop_every > 0 &&
      ++b.frames_out % static_cast<std::uint64_t>(b.audio_drop_every) == 0) {
    ++b.seq;  // --audio-drop-every: a gap the listeners count as lost
    ++b.twcc_seq;
    ++b.sent;
    return;
  }
  std::array<std::uint8_t, 1500> payload{};
  std::copy(fr.data.begin(), fr.data.end(), payload.begin());
  int len = opus_stamp(payload.data(), static_cast<int>(fr.data.size()),
                       static_cast<std::uint64_t>(now), b.ssrc);
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
  if (n == 0 || !send_rtp(b, buf, n)) return;
  ++b.sent;
}

}  // namespace

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

void connect_media(Bot& t, const rtc::sdp::MediaSection& m, std::shared_ptr<rtc::DtlsContext> ctx,
                   rtc::DtlsRole role) {
  std::lock_guard lock(t.mu);
  Link& l = t.link;
  if (l.ready) return;  // a repeated answer
  l.remote = {m.ice_ufrag, m.ice_pwd};
  t.frame_ms.store(t.forced_frame_ms != 0 ? t.forced_frame_ms : frame_ms_for(m),
                   std::memory_order_relaxed);
  rtc::ice::IceAgentConfig ic;
  ic.local = t.local;
  ic.remote = l.remote;
  // Consent checks every second, and no answer for 4 s counts as a lost node (a browser's
  // ICE "disconnected" comes after about 5 s); the RFC 7675 30 s would leave a cut-off node's
  // listeners in silence for half a minute.
  ic.consent_interval_ms = 1000;
  ic.consent_timeout_ms = 4000;
  l.ice = std::make_unique<rtc::ice::IceAgent>(ic);
  for (auto& c : m.candidates)
    if (auto a = SocketAddress::parse_ip(c.address, c.port); a && a->is_v4())
      l.ice->add_remote_candidate(*a, c.priority);
  auto d = rtc::DtlsSession::create(std::move(ctx), role, m.fingerprint);
  if (!d) throw std::runtime_error("dtls: " + d.error().message);
  l.dtls = std::move(d.value());
  l.ice->start(now_us() / 1000);
  l.ready = true;
}

bool prepare_media(Bots& bots, const Options& o, OpusLoops& loops) {
  for (auto& b : bots) {
    // Janus offers the machine's eth0 address, never 127.0.0.1. The kernel's arrival stamps
    // keep the bot's own scheduling delay out of the latency it reports (many bots share one
    // thread, and several bot processes one core in bench/voice).
    bool any = o.janus || (o.host != "127.0.0.1" && o.host != "localhost");
    try {
      b->sock = net::UdpSocket::bind(SocketAddress::v4(any ? INADDR_ANY : INADDR_LOOPBACK, 0),
                                     {.receive_buffer = 1 << 20, .rx_timestamps = true});
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "udp socket: %s\n", e.what());
      return false;
    }
    b->local = rtc::ice::random_credentials();
    random_bytes(&b->ssrc, sizeof(b->ssrc));
    random_bytes(&b->seq, sizeof(b->seq));
    random_bytes(&b->ts, sizeof(b->ts));
    auto& loop = loops[b->index];
    if (!loop) loop = std::make_unique<OpusLoop>(b->index, o.talk);
    b->opus = loop.get();
    b->audio_drop_every = o.audio_drop_every;
    b->forced_frame_ms = o.ptime;
  }
  return true;
}

// Quality reports on /voice, each bot every --report-every seconds from its connection on
// (spread over the interval). The socket's reader is the bot's signaling thread; a report is
// the only frame written from this thread, under the socket's write lock. (The reader may
// write a pong of its own; the server pings only a socket idle for a minute, and one that
// reports every 10 s is not.)
void send_reports(Bots& bots, const Options& o, std::int64_t now) {
  const auto every = static_cast<std::int64_t>(o.report_every * 1e6);
  for (auto& b : bots) {
    if (b->vpub || b->vrx || b->pub_only) continue;
    boost::json::object d;
    std::shared_ptr<VoiceSocket> ws;
    {
      std::lock_guard lock(b->mu);
      if (!b->link.srtp) continue;
      ws = b->ws;
      if (b->next_report_us == 0) {  // connected: the first report after one to two intervals
        b->next_report_us =
            now + every +
            static_cast<std::int64_t>(random_u64() % static_cast<std::uint64_t>(every));
        b->last_report_us = now;
        b->report_delay_us.clear();
        quality_report(*b, o.report_every);  // starts the first interval
        continue;
      }
      if (now < b->next_report_us) continue;
      double interval = static_cast<double>(now - b->last_report_us) / 1e6;
      b->last_report_us = now;
      b->next_report_us = now + every;
      d = quality_report(*b, std::clamp(interval, 1.0, 60.0));
      ++b->reports_sent;
    }
    try {
      ws->send(boost::json::object{{"op", "quality"}, {"d", std::move(d)}});
    } catch (const std::exception&) {
      // The socket is gone: the signaling thread reports the error.
    }
  }
}

MediaWindow run_media(Bots& bots, const Options& o) {
  // Media: wait until everyone is connected (or --join-timeout), then count `duration`
  // seconds of media, then keep receiving for a moment so nothing in flight counts as lost.
  // Without --go-file speakers talk from the moment they are connected (a joining bot hears
  // audio as a user would: join time is to the first remote audio); packets stamped before
  // media_start only count for the join time. With --go-file (bench/voice) nobody talks
  // before media_start, so that no join overlaps anyone's media.
  const bool talk_early = o.go_file.empty();
  std::int64_t start = now_us();
  std::int64_t media_start = -1, media_end = -1;
  const auto join_timeout_us = static_cast<std::int64_t>(o.join_timeout * 1e6);
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
      if (!b.link.srtp) all_connected = false;
      if (!b.link.ready && !b.old) {
        // Not connected (yet, or again after losing its node): drop what arrives meanwhile.
        while (readable[i] && rx.receive(b.sock) > 0) {
        }
        readable[i] = 0;
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
          if (Link* l = link_of(b, rx.from(k)))
            on_datagram(b, *l, rx.data(k), rx.size(k), rx.from(k), rx.arrival_us(k, now),
                        window_us);
      }
      for (Link* l : {&b.link, b.old.get()}) {
        if (!l || !l->ready) continue;
        std::int64_t t = l->ice->next_timeout_ms();
        if (t >= 0 && t <= now / 1000) l->ice->handle_timeout(now / 1000);
        if (l->dtls->timeout_ms() == 0) l->dtls->handle_timeout();
        flush_ice(b, *l);
      }
      if (b.old && b.old_until_us != 0 && now >= b.old_until_us) {
        // Moved: the old node's connection ends (it counts us gone, its drain goes on).
        b.old.reset();
        b.old_until_us = 0;
        if (b.old_ws) b.old_ws->abort();
        b.old_ws.reset();
      }
    }
    if (media_start < 0 && !connected_said && sweep &&
        (all_connected || now - start > join_timeout_us)) {
      connected_said = true;
      std::fprintf(stderr, "hype-bot: connected\n");
    }
    // --go-file: several bot processes (bench/voice) start their media at the same moment.
    if (media_start < 0 && connected_said &&
        (o.go_file.empty() || ::access(o.go_file.c_str(), F_OK) == 0)) {
      media_start = now + 300'000;  // let the last subscription offers settle
      media_end = media_start + static_cast<std::int64_t>(o.duration * 1e6);
      for (auto& b : bots) {
        std::lock_guard lock(b->mu);
        b->latency_from_us = media_start + static_cast<std::int64_t>(o.warmup * 1e6);
        // Each sender its own phase within its frame, like independent clients: no
        // burst of every speaker's packet at once. Early talkers keep theirs.
        if (!talk_early)
          b->next_frame_us = media_start + static_cast<std::int64_t>(random_u64() % frame_us(*b));
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
          if (!b->link.srtp || !b->link.peer) continue;
          b->next_frame_us = now + static_cast<std::int64_t>(random_u64() % frame_us(*b));
        }
        if (now < b->next_frame_us) continue;  // only this thread touches next_frame_us
        b->next_frame_us += static_cast<std::int64_t>(frame_us(*b));
        std::lock_guard lock(b->mu);
        if (!(b->link.srtp && b->link.peer) && !(b->old && b->old->srtp)) {
          b->ts += static_cast<std::uint32_t>(48 * b->frame_ms.load(std::memory_order_relaxed));
          continue;
        }
        std::int64_t stamp = now_us();  // a fresh stamp: not the poll's
        std::uint64_t before = b->sent;
        send_frame(*b, (now - talk_epoch) / 1000, stamp);
        if (media_start >= 0 && stamp >= media_start) b->sent_in_window += b->sent - before;
      }
    }
    // Video: the publisher's frames are due on its clip's clock; watchers' NACKs and PLIs
    // on the sweep.
    for (auto& b : bots) {
      if (!b->vpub && !(b->vrx && sweep)) continue;
      std::lock_guard lock(b->mu);
      video_tick(*b, now_us(), sending);
    }
    if (sweep)
      for (auto& b : bots) {
        std::lock_guard lock(b->mu);
        send_receiver_report(*b, now);
      }
    if (o.report_every > 0 && sweep && !o.janus) send_reports(bots, o, now);
    if (media_end >= 0 && now > media_end + 700'000) break;
  }
  ::close(ep);
  return {media_start, media_end};
}

}  // namespace hype::bot
