#include "sfu/worker.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <spdlog/spdlog.h>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <unordered_map>

#include "core/random.hpp"
#include "rtc/demux.hpp"
#include "rtc/ice/ice_lite_agent.hpp"
#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtcp/twcc.hpp"
#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/srtp_session.hpp"
#include "rtc/stun/stun_message.hpp"

namespace hype::sfu {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr std::size_t kRxBatch = 32;
constexpr std::size_t kTxBatch = 256;
constexpr std::size_t kSlot = 1600;  // MTU-sized packet plus SRTP tailroom
constexpr std::int64_t kTickMs = 20;
constexpr std::int64_t kTwccIntervalUs = 100'000;
constexpr std::int64_t kReportIntervalUs = 1'000'000;
constexpr std::int64_t kSpeakerIntervalUs = 50'000;
constexpr std::size_t kMaxPathsPerSession = 8;

std::int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

rtc::SocketAddress from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    return rtc::SocketAddress::v4(ntohl(a.sin_addr.s_addr), ntohs(a.sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    std::array<std::uint8_t, 16> ip{};
    std::memcpy(ip.data(), &a.sin6_addr, 16);
    return rtc::SocketAddress::v6(ip, ntohs(a.sin6_port));
  }
  return {};
}

socklen_t to_sockaddr(const rtc::SocketAddress& a, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  if (a.is_v4()) {
    auto& s = reinterpret_cast<sockaddr_in&>(ss);
    s.sin_family = AF_INET;
    s.sin_port = htons(a.port);
    std::memcpy(&s.sin_addr, a.ip.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto& s = reinterpret_cast<sockaddr_in6&>(ss);
  s.sin6_family = AF_INET6;
  s.sin6_port = htons(a.port);
  std::memcpy(&s.sin6_addr, a.ip.data(), 16);
  return sizeof(sockaddr_in6);
}

void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace

struct Session {
  SessionParams params;
  std::unique_ptr<rtc::ice::IceLiteAgent> ice;
  std::unique_ptr<rtc::DtlsSession> dtls;
  std::unique_ptr<rtc::SrtpSession> srtp;
  Room* room = nullptr;
  Participant* participant = nullptr;
  std::optional<rtc::SocketAddress> remote;
  std::vector<rtc::SocketAddress> addrs;  // keys this session holds in by_addr
  std::uint32_t rtcp_ssrc = 0;
  std::uint16_t twcc_out_seq = 1;
  rtc::rtcp::TwccBuilder twcc;
  std::uint8_t twcc_fb_count = 0;
  std::int64_t next_twcc_us = 0;
  std::int64_t next_report_us = 0;
  bool disconnected = false;
  std::vector<SubscriptionInfo> announced;  // the last kSubscriptions list sent
};

struct Worker::Impl : ForwardSink {
  Impl(Worker& w, std::shared_ptr<rtc::DtlsContext> ctx, EventFn fn)
      : worker(w), dtls_ctx(std::move(ctx)), on_event(std::move(fn)), rng(random_u64()) {
    rx_buf.resize(kRxBatch * kSlot);
    tx_buf.resize(kTxBatch * kSlot);
  }

  Worker& worker;
  asio::io_context io{1};
  udp::socket sock{io};
  asio::steady_timer timer{io};
  std::shared_ptr<rtc::DtlsContext> dtls_ctx;
  EventFn on_event;
  std::mt19937_64 rng;
  std::unordered_map<std::string, std::unique_ptr<Session>> by_ufrag;
  std::unordered_map<rtc::SocketAddress, Session*, rtc::SocketAddressHash> by_addr;
  std::unordered_map<std::uint64_t, std::unique_ptr<Room>> rooms;

  std::vector<std::uint8_t> rx_buf;
  std::array<mmsghdr, kRxBatch> rx_msgs{};
  std::array<iovec, kRxBatch> rx_iov{};
  std::array<sockaddr_storage, kRxBatch> rx_addr{};
  std::vector<std::uint8_t> tx_buf;
  std::array<mmsghdr, kTxBatch> tx_msgs{};
  std::array<iovec, kTxBatch> tx_iov{};
  std::array<sockaddr_storage, kTxBatch> tx_addr{};
  std::size_t tx_count = 0;
  std::array<std::uint8_t, kSlot> scratch{};
  std::vector<SpeakerEvent> speaker_events;
  std::vector<ParticipantId> changed_slots;
  std::int64_t now_us = 0;
  std::int64_t next_speaker_us = 0;

  WorkerCounters& c() { return worker.counters_; }

  // ---- sending ----
  std::uint8_t* tx_slot() {
    if (tx_count == kTxBatch) flush();
    return tx_buf.data() + tx_count * kSlot;
  }
  void tx_commit(const rtc::SocketAddress& to, std::size_t n) {
    socklen_t len = to_sockaddr(to, tx_addr[tx_count]);
    tx_iov[tx_count] = {tx_buf.data() + tx_count * kSlot, n};
    auto& h = tx_msgs[tx_count].msg_hdr;
    h = {};
    h.msg_name = &tx_addr[tx_count];
    h.msg_namelen = len;
    h.msg_iov = &tx_iov[tx_count];
    h.msg_iovlen = 1;
    ++tx_count;
  }
  void send_copy(const rtc::SocketAddress& to, rtc::ByteSpan data) {
    if (data.size() > kSlot) return;
    std::memcpy(tx_slot(), data.data(), data.size());
    tx_commit(to, data.size());
  }
  void flush() {
    std::size_t off = 0;
    int fd = sock.native_handle();
    while (off < tx_count) {
      int n =
          ::sendmmsg(fd, tx_msgs.data() + off, static_cast<unsigned>(tx_count - off), MSG_DONTWAIT);
      if (n <= 0) {
        // Kernel buffer full or an unreachable peer: drop this one and go on.
        bump(c().dropped_send);
        ++off;
        continue;
      }
      for (int i = 0; i < n; ++i) bump(c().tx_bytes, tx_msgs[off + i].msg_len);
      bump(c().tx_packets, static_cast<std::uint64_t>(n));
      off += static_cast<std::size_t>(n);
    }
    tx_count = 0;
  }
  // Protects an RTCP packet written into a tx slot and queues it to the session's path.
  void send_rtcp(Session& s, std::uint8_t* slot, std::size_t n) {
    if (!s.srtp || !s.remote) return;
    if (s.srtp->protect_rtcp(rtc::MutableByteSpan(slot, kSlot), n) != rtc::SrtpStatus::kOk) {
      bump(c().dropped_send);
      return;
    }
    tx_commit(*s.remote, n);
  }

  // ---- ForwardSink ----
  void forward(const Subscription& sub, const rtc::RtpPacket& src, const rtc::PacketExtensions& ext,
               std::uint16_t seq, std::uint32_t ts) override {
    auto* s = static_cast<Session*>(sub.subscriber->transport);
    if (!s || !s->srtp || !s->remote) return;
    std::uint8_t* slot = tx_slot();
    // The subscriber's own extension ids and mid; the SFU numbers its transport-wide sequence.
    rtc::ForwardHeader h{sub.rewriter.out_ssrc(), seq,     ts,
                         sub.out_payload_type,    sub.mid, s->params.ext.transport_cc != 0,
                         s->twcc_out_seq};
    std::size_t n = rtc::write_forwarded(src, ext, s->params.ext, h,
                                         rtc::MutableByteSpan(slot, kSlot - rtc::kSrtpMaxOverhead));
    if (n == 0) {
      bump(c().dropped_send);
      return;
    }
    if (h.write_transport_seq) ++s->twcc_out_seq;
    std::size_t plain = n;
    if (s->srtp->protect_rtp(rtc::MutableByteSpan(slot, kSlot), n) != rtc::SrtpStatus::kOk) {
      bump(c().dropped_send);
      return;
    }
    tx_commit(*s->remote, n);
    bump(c().forwarded_packets);
    bump(c().forwarded_bytes, plain);
  }
  void request_keyframe(const Track& track) override {
    auto* s = static_cast<Session*>(track.owner->transport);
    if (!s) return;
    std::uint8_t* slot = tx_slot();
    rtc::ByteWriter w(rtc::MutableByteSpan(slot, kSlot - rtc::kSrtpMaxOverhead));
    if (rtc::rtcp::write_pli(w, s->rtcp_ssrc, track.ssrc)) send_rtcp(*s, slot, w.size());
  }

  // ---- receiving ----
  void arm() {
    sock.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
      if (ec) return;
      on_readable();
      arm();
    });
  }

  void on_readable() {
    int fd = sock.native_handle();
    for (int round = 0; round < 16; ++round) {
      for (std::size_t i = 0; i < kRxBatch; ++i) {
        rx_iov[i] = {rx_buf.data() + i * kSlot, kSlot - rtc::kSrtpMaxOverhead};
        auto& h = rx_msgs[i].msg_hdr;
        h = {};
        h.msg_name = &rx_addr[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_iov = &rx_iov[i];
        h.msg_iovlen = 1;
      }
      int n = ::recvmmsg(fd, rx_msgs.data(), kRxBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      now_us = mono_us();
      for (int i = 0; i < n; ++i) {
        handle_datagram(rtc::MutableByteSpan(rx_buf.data() + i * kSlot, kSlot), rx_msgs[i].msg_len,
                        from_sockaddr(rx_addr[i]));
      }
      flush();
      if (static_cast<std::size_t>(n) < kRxBatch) break;
    }
  }

  Session* by_address(const rtc::SocketAddress& a) {
    auto it = by_addr.find(a);
    return it == by_addr.end() ? nullptr : it->second;
  }

  void handle_datagram(rtc::MutableByteSpan buf, std::size_t len, const rtc::SocketAddress& from) {
    bump(c().rx_packets);
    bump(c().rx_bytes, len);
    rtc::MutableByteSpan d = buf.first(len);
    switch (rtc::classify_packet(d)) {
      case rtc::PacketKind::kStun:
        handle_stun(d, from);
        return;
      case rtc::PacketKind::kDtls: {
        Session* s = by_address(from);
        if (!s) {
          bump(c().dropped_unknown);
          return;
        }
        handle_dtls(*s, d, from);
        return;
      }
      case rtc::PacketKind::kRtp: {
        Session* s = by_address(from);
        if (!s || !s->srtp) {
          bump(c().dropped_unknown);
          return;
        }
        std::size_t n = len;
        if (s->srtp->unprotect_rtp(buf, n) != rtc::SrtpStatus::kOk) {
          bump(c().dropped_auth);
          return;
        }
        rtc::RtpPacket p;
        if (rtc::RtpPacket::parse(buf.first(n), p) != rtc::RtpParseStatus::kOk) {
          bump(c().dropped_malformed);
          return;
        }
        // Extensions are located once here, not per subscriber.
        rtc::PacketExtensions ext;
        if (rtc::index_extensions(p, s->participant->ext, ext) != rtc::ExtensionStatus::kOk) {
          bump(c().dropped_malformed);
          return;
        }
        if (ext.transport_seq) record_twcc(*s, *ext.transport_seq, p.ssrc());
        Room& room = *s->room;
        std::uint64_t not_selected = room.counters().dropped_not_selected;
        std::uint64_t muted = room.counters().dropped_muted;
        room.on_rtp(*s->participant, p, ext, now_us, *this);
        if (room.counters().dropped_not_selected != not_selected) bump(c().dropped_not_selected);
        if (room.counters().dropped_muted != muted) bump(c().dropped_muted);
        return;
      }
      case rtc::PacketKind::kRtcp: {
        Session* s = by_address(from);
        if (!s || !s->srtp) {
          bump(c().dropped_unknown);
          return;
        }
        std::size_t n = len;
        if (s->srtp->unprotect_rtcp(buf, n) != rtc::SrtpStatus::kOk) {
          bump(c().dropped_auth);
          return;
        }
        handle_rtcp(*s, buf.first(n));
        return;
      }
      default:
        bump(c().dropped_malformed);
        return;
    }
  }

  void handle_stun(rtc::ByteSpan d, const rtc::SocketAddress& from) {
    rtc::stun::StunMessage m;
    if (rtc::stun::StunMessage::parse(d, m) != rtc::stun::ParseStatus::kOk ||
        m.message_class() != rtc::stun::MessageClass::kRequest) {
      bump(c().dropped_malformed);
      return;
    }
    std::string_view uf = rtc::ice::local_ufrag_of(m);
    if (uf.empty() || uf.size() > 15) {  // ours are 8 chars: the key stays in SSO storage
      bump(c().dropped_auth);
      return;
    }
    auto it = by_ufrag.find(std::string(uf));
    if (it == by_ufrag.end()) {
      bump(c().dropped_unknown);
      return;
    }
    Session& s = *it->second;
    auto out = s.ice->handle_stun(m, from, now_us / 1000, scratch);
    if (out.response_size) send_copy(from, rtc::ByteSpan(scratch.data(), out.response_size));
    if (out.check != rtc::ice::RequestCheck::kValid) {
      bump(c().dropped_auth);
      return;
    }
    if (!by_address(from) && s.addrs.size() < kMaxPathsPerSession) {
      by_addr[from] = &s;
      s.addrs.push_back(from);
    } else if (Session* other = by_address(from); other && other != &s) {
      // The address moved to another session (a client rejoined from the same port).
      std::erase(other->addrs, from);
      by_addr[from] = &s;
      s.addrs.push_back(from);
    }
    if (out.selected_changed || !s.remote) {
      s.remote = s.ice->selected() ? s.ice->selected() : std::optional(from);
    }
  }

  void drain_dtls(Session& s, const rtc::SocketAddress& to) {
    while (auto dg = s.dtls->pop_datagram()) send_copy(to, *dg);
  }

  void handle_dtls(Session& s, rtc::ByteSpan d, const rtc::SocketAddress& from) {
    auto state = s.dtls->handle_datagram(d);
    drain_dtls(s, from);
    if (state == rtc::DtlsState::kConnected && !s.srtp && s.dtls->srtp_keys()) {
      auto srtp = rtc::SrtpSession::create(*s.dtls->srtp_keys());
      if (!srtp) {
        spdlog::warn("sfu: participant {} SRTP setup failed: {}", s.params.participant,
                     srtp.error().message);
        return;
      }
      s.srtp = std::move(srtp.value());
      spdlog::debug("sfu: participant {} SRTP {} ({})", s.params.participant,
                    rtc::to_string(s.srtp->profile()),
                    s.srtp->uses_openssl_gcm() ? "openssl" : "libsrtp2");
      bump(c().connected);
      emit({WorkerEvent::Type::kConnected, s.params.room, s.params.participant, true, {}});
    } else if (state == rtc::DtlsState::kFailed && !s.disconnected) {
      s.disconnected = true;
      spdlog::info("sfu: participant {} DTLS failed: {}", s.params.participant, s.dtls->error());
      emit({WorkerEvent::Type::kDisconnected, s.params.room, s.params.participant, true, {}});
    }
  }

  void handle_rtcp(Session& s, rtc::ByteSpan d) {
    rtc::rtcp::RtcpReader r(d);
    rtc::rtcp::RtcpHeader h;
    std::int64_t now_ms = now_us / 1000;
    while (r.next(h)) {
      rtc::rtcp::FeedbackView fb;
      if (h.type == rtc::rtcp::kRtpfb && h.count == rtc::rtcp::kFmtNack) {
        if (!rtc::rtcp::parse_feedback(h, fb)) continue;
        std::array<std::uint16_t, 256> seqs{};
        std::size_t n = 0;
        rtc::rtcp::for_each_nack(fb, [&](std::uint16_t q) {
          if (n < seqs.size()) seqs[n++] = q;
        });
        bump(c().nacks, n);
        bump(c().nack_hits, s.room->on_nack(s.params.participant, fb.media_ssrc,
                                            std::span(seqs.data(), n), now_ms, *this));
      } else if (h.type == rtc::rtcp::kPsfb &&
                 (h.count == rtc::rtcp::kFmtPli || h.count == rtc::rtcp::kFmtFir)) {
        if (!rtc::rtcp::parse_feedback(h, fb)) continue;
        std::uint32_t media = fb.media_ssrc;
        if (h.count == rtc::rtcp::kFmtFir && rtc::rtcp::fir_entry_count(fb) > 0)
          media = rtc::rtcp::fir_entry(fb, 0).ssrc;
        bump(c().plis);
        s.room->on_keyframe_request(s.params.participant, media, now_ms, *this);
      }
      // SR/RR/SDES/BYE and transport-cc from subscribers need no action for audio.
    }
    if (r.status() != rtc::rtcp::RtcpParseStatus::kOk) bump(c().dropped_malformed);
  }

  void record_twcc(Session& s, std::uint16_t seq, std::uint32_t media_ssrc) {
    if (s.twcc.empty()) s.twcc.reset(s.rtcp_ssrc, media_ssrc, s.twcc_fb_count);
    if (!s.twcc.add_received(seq, now_us)) {
      send_twcc(s);
      s.twcc.reset(s.rtcp_ssrc, media_ssrc, s.twcc_fb_count);
      s.twcc.add_received(seq, now_us);
    }
  }
  void send_twcc(Session& s) {
    if (s.twcc.empty()) return;
    std::uint8_t* slot = tx_slot();
    rtc::ByteWriter w(rtc::MutableByteSpan(slot, kSlot - rtc::kSrtpMaxOverhead));
    if (s.twcc.write(w)) send_rtcp(s, slot, w.size());
    ++s.twcc_fb_count;
    s.twcc.reset(s.rtcp_ssrc, 0, s.twcc_fb_count);
  }
  void send_reports(Session& s) {
    if (!s.participant || s.participant->tracks.empty()) return;
    std::array<rtc::rtcp::ReportBlock, 8> blocks{};
    std::size_t n = 0;
    for (auto& t : s.participant->tracks) {
      if (n == blocks.size()) break;
      if (t->stats.received() == 0) continue;
      blocks[n++] = t->stats.make_report(t->ssrc);
    }
    if (n == 0) return;
    std::uint8_t* slot = tx_slot();
    rtc::ByteWriter w(rtc::MutableByteSpan(slot, kSlot - rtc::kSrtpMaxOverhead));
    if (rtc::rtcp::write_receiver_report(w, s.rtcp_ssrc, std::span(blocks.data(), n)))
      send_rtcp(s, slot, w.size());
  }

  // ---- timers ----
  void arm_timer() {
    timer.expires_after(std::chrono::milliseconds(kTickMs));
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      on_tick();
      arm_timer();
    });
  }

  void on_tick() {
    now_us = mono_us();
    std::int64_t now_ms = now_us / 1000;
    for (auto& [uf, sp] : by_ufrag) {
      Session& s = *sp;
      std::int64_t dt = s.dtls->timeout_ms();
      if (dt == 0 && s.remote) {
        s.dtls->handle_timeout();
        drain_dtls(s, *s.remote);
      }
      std::int64_t it = s.ice->next_timeout_ms();
      if (it >= 0 && it <= now_ms && s.ice->handle_timeout(now_ms) &&
          s.ice->state() == rtc::ice::IceState::kDisconnected && !s.disconnected) {
        s.disconnected = true;
        emit({WorkerEvent::Type::kDisconnected, s.params.room, s.params.participant, true, {}});
      }
      if (!s.srtp) continue;
      if (now_us >= s.next_twcc_us) {
        send_twcc(s);
        s.next_twcc_us = now_us + kTwccIntervalUs;
      }
      if (now_us >= s.next_report_us) {
        send_reports(s);
        s.next_report_us = now_us + kReportIntervalUs;
      }
    }
    if (now_us >= next_speaker_us) {
      next_speaker_us = now_us + kSpeakerIntervalUs;
      for (auto& [id, room] : rooms) {
        speaker_events.clear();
        room->speakers().tick(now_ms, speaker_events);
        for (auto& e : speaker_events) {
          emit({e.type == SpeakerEvent::Type::kSpeaking ? WorkerEvent::Type::kSpeaking
                                                        : WorkerEvent::Type::kActiveSpeaker,
                id,
                e.participant,
                e.speaking,
                {}});
        }
        refresh_slots(*room, now_ms);
      }
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      c().cpu_ns.store(static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
                           static_cast<std::uint64_t>(ts.tv_nsec),
                       std::memory_order_relaxed);
    }
    flush();
  }

  void emit(WorkerEvent e) {
    if (on_event) on_event(std::move(e));
  }

  // ---- control ----
  Session* find_session(std::uint64_t room, ParticipantId p) {
    for (auto& [uf, s] : by_ufrag)
      if (s->params.room == room && s->params.participant == p) return s.get();
    return nullptr;
  }

  std::uint32_t fresh_ssrc(Room& room) {
    for (;;) {
      auto v = static_cast<std::uint32_t>(rng());
      if (v != 0 && !room.track_by_ssrc(v)) return v;
    }
  }

  void subscribe(Room& room, ParticipantId subscriber, Track& t) {
    if (room.is_subscribed(subscriber, t)) return;
    room.subscribe(subscriber, t, fresh_ssrc(room), static_cast<std::uint16_t>(rng()),
                   static_cast<std::uint32_t>(rng()));
  }

  static SubscriptionInfo slot_info(const Subscription& slot) {
    return {slot.rewriter.out_ssrc(), slot.track ? slot.track->owner->id : 0, MediaKind::kAudio,
            slot.out_payload_type, slot.slot};
  }

  // Grows every participant's audio slots to what the room size asks for, then announces
  // the subscription list (the m-sections) to those whose list changed: in a big channel a
  // join or leave renegotiates nobody once everyone has max_forwarded_speakers slots.
  void emit_subscriptions(Room& room) {
    for (auto& p : room.participants()) {
      while (p->slots.size() < room.wanted_slots(p->id))
        room.add_slot(p->id, fresh_ssrc(room), static_cast<std::uint16_t>(rng()),
                      static_cast<std::uint32_t>(rng()));
    }
    for (auto& p : room.participants()) {
      WorkerEvent e{WorkerEvent::Type::kSubscriptions, room.id(), p->id, false, {}};
      for (auto& slot : p->slots) {
        e.subscriptions.push_back(slot_info(*slot));
        e.subscriptions.back().publisher = 0;  // sources travel in kSlots
      }
      for (auto& q : room.participants())
        for (auto& t : q->tracks)
          for (auto& sub : t->subscriptions)
            if (sub->subscriber == p.get())
              e.subscriptions.push_back(
                  {sub->rewriter.out_ssrc(), q->id, t->kind, sub->out_payload_type, -1});
      auto* s = static_cast<Session*>(p->transport);
      if (s && same(s->announced, e.subscriptions)) continue;
      if (s) s->announced = e.subscriptions;
      emit(std::move(e));
    }
  }

  static bool same(const std::vector<SubscriptionInfo>& a, const std::vector<SubscriptionInfo>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i].out_ssrc != b[i].out_ssrc || a[i].publisher != b[i].publisher) return false;
    return true;
  }

  // Runs the room's last-N selection and tells each subscriber whose slots changed.
  void refresh_slots(Room& room, std::int64_t now_ms) {
    changed_slots.clear();
    std::uint64_t switches = room.counters().slot_switches;
    room.update_selection(now_ms, changed_slots);
    bump(c().slot_switches, room.counters().slot_switches - switches);
    for (ParticipantId id : changed_slots) {
      Participant* p = room.participant(id);
      if (!p) continue;
      WorkerEvent e{WorkerEvent::Type::kSlots, room.id(), id, false, {}};
      for (auto& slot : p->slots) e.subscriptions.push_back(slot_info(*slot));
      emit(std::move(e));
    }
  }

  void do_remove(std::uint64_t room_id, ParticipantId pid, bool announce) {
    Session* s = find_session(room_id, pid);
    if (!s) return;
    for (auto& a : s->addrs) {
      auto it = by_addr.find(a);
      if (it != by_addr.end() && it->second == s) by_addr.erase(it);
    }
    Room* room = s->room;
    room->remove_participant(pid);
    bump(c().participants, static_cast<std::uint64_t>(-1));
    if (s->srtp) bump(c().connected, static_cast<std::uint64_t>(-1));
    by_ufrag.erase(s->params.local.ufrag);
    bump(c().sessions, static_cast<std::uint64_t>(-1));
    if (room->empty()) {
      rooms.erase(room_id);
      bump(c().rooms, static_cast<std::uint64_t>(-1));
    } else if (announce) {
      emit_subscriptions(*room);
      refresh_slots(*room, mono_us() / 1000);
    }
  }

  void do_add(SessionParams params) {
    do_remove(params.room, params.participant, false);  // a rejoin replaces the old transport
    auto dtls =
        rtc::DtlsSession::create(dtls_ctx, rtc::DtlsRole::kServer, params.remote_fingerprint);
    if (!dtls) {
      spdlog::warn("sfu: participant {} rejected: {}", params.participant, dtls.error().message);
      emit({WorkerEvent::Type::kDisconnected, params.room, params.participant, true, {}});
      return;
    }
    auto& room_slot = rooms[params.room];
    if (!room_slot) {
      room_slot = std::make_unique<Room>(params.room, worker.options().speaker,
                                         worker.options().max_forwarded_speakers);
      bump(c().rooms);
    }
    Room& room = *room_slot;
    auto s = std::make_unique<Session>();
    s->params = std::move(params);
    s->ice = std::make_unique<rtc::ice::IceLiteAgent>(s->params.local, s->params.remote);
    s->dtls = std::move(dtls.value());
    s->dtls->start();
    s->room = &room;
    s->rtcp_ssrc = fresh_ssrc(room);
    Participant& p = room.add_participant(s->params.participant);
    p.ext = s->params.ext;
    p.audio_payload_type = s->params.audio_payload_type;
    p.transport = s.get();
    s->participant = &p;
    for (auto& t : s->params.tracks)
      room.publish(p.id, t.ssrc, t.kind, t.payload_type, t.clock_rate, t.mid);
    // Audio goes through slots; anything else is a per-publisher subscription.
    for (auto& q : room.participants()) {
      if (q.get() == &p) continue;
      for (auto& t : q->tracks)
        if (t->kind != MediaKind::kAudio) subscribe(room, p.id, *t);
      for (auto& t : p.tracks)
        if (t->kind != MediaKind::kAudio) subscribe(room, q->id, *t);
    }
    bump(c().sessions);
    bump(c().participants);
    std::string key = s->params.local.ufrag;
    by_ufrag[key] = std::move(s);
    emit_subscriptions(room);
    refresh_slots(room, mono_us() / 1000);
  }

  void do_restart(std::uint64_t room, ParticipantId pid, rtc::ice::IceCredentials local,
                  rtc::ice::IceCredentials remote) {
    Session* s = find_session(room, pid);
    if (!s) return;
    auto node = by_ufrag.extract(s->params.local.ufrag);
    s->ice->restart(local, remote);
    s->params.local = local;
    s->params.remote = remote;
    s->disconnected = false;
    node.key() = local.ufrag;
    by_ufrag.insert(std::move(node));
  }
};

Worker::Worker(int index, WorkerOptions options, std::shared_ptr<rtc::DtlsContext> dtls,
               EventFn on_event)
    : index_(index),
      options_(std::move(options)),
      impl_(std::make_unique<Impl>(*this, std::move(dtls), std::move(on_event))) {}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  auto addr = asio::ip::make_address(options_.bind_ip);
  udp::endpoint ep(addr, options_.port);
  impl_->sock.open(ep.protocol());
  impl_->sock.set_option(asio::socket_base::reuse_address(true));
  impl_->sock.set_option(asio::socket_base::receive_buffer_size(4 << 20));
  impl_->sock.set_option(asio::socket_base::send_buffer_size(4 << 20));
  impl_->sock.bind(ep);
  impl_->sock.non_blocking(true);
  port_ = impl_->sock.local_endpoint().port();
  impl_->arm();
  impl_->arm_timer();
  thread_ = std::thread([this] { impl_->io.run(); });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  impl_->io.stop();
  thread_.join();
}

void Worker::add_session(SessionParams params) {
  asio::post(impl_->io, [this, p = std::move(params)]() mutable { impl_->do_add(std::move(p)); });
}

void Worker::remove_session(std::uint64_t room, ParticipantId participant) {
  asio::post(impl_->io, [this, room, participant] { impl_->do_remove(room, participant, true); });
}

void Worker::set_server_mute(std::uint64_t room, ParticipantId participant, bool muted) {
  asio::post(impl_->io, [this, room, participant, muted] {
    auto it = impl_->rooms.find(room);
    if (it != impl_->rooms.end()) it->second->set_server_mute(participant, muted);
  });
}

void Worker::restart_ice(std::uint64_t room, ParticipantId participant,
                         rtc::ice::IceCredentials local, rtc::ice::IceCredentials remote) {
  asio::post(impl_->io, [this, room, participant, local = std::move(local),
                         remote = std::move(remote)]() mutable {
    impl_->do_restart(room, participant, std::move(local), std::move(remote));
  });
}

}  // namespace hype::sfu
