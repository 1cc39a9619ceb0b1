#include "sfu/worker.hpp"

#include <time.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <random>
#include <system_error>
#include <unordered_map>

#include "core/random.hpp"
#include "core/threads.hpp"
#include "net/udp_socket.hpp"
#include "rtc/demux.hpp"
#include "rtc/ice/ice_common.hpp"
#include "rtc/stun/stun_message.hpp"

namespace hype::sfu {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kRxBatch = 32;
constexpr std::size_t kTxBatch = 256;
constexpr std::size_t kSlot = 1600;  // MTU-sized packet plus SRTP tailroom
constexpr std::int64_t kTickMs = 20;
constexpr std::int64_t kSpeakerIntervalUs = 50'000;
constexpr std::size_t kMaxPathsPerSession = 8;

std::int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// The worker's record of one participant: its transport plus what only the tables need.
struct Session {
  std::unique_ptr<Transport> transport;
  std::vector<SocketAddress> addrs;         // keys this session holds in by_addr
  std::vector<SubscriptionInfo> announced;  // the last kSubscriptions list sent
};

struct Worker::Impl final : DatagramSender, TransportEvents {
  Impl(Worker& w, std::shared_ptr<rtc::DtlsContext> ctx, EventFn fn)
      : worker(w), dtls_ctx(std::move(ctx)), on_event(std::move(fn)), rng(random_u64()) {}
  ~Impl() override {
    // The descriptor only watches the socket's fd; the socket closes it.
    if (watch.is_open()) watch.release();
  }

  Worker& worker;
  asio::io_context io{1};
  net::UdpSocket sock;
  asio::posix::stream_descriptor watch{io};
  asio::steady_timer timer{io};
  std::shared_ptr<rtc::DtlsContext> dtls_ctx;
  EventFn on_event;
  std::mt19937_64 rng;
  net::RxBatch rx{kRxBatch, kSlot, rtc::kSrtpMaxOverhead};
  net::TxBatch tx{kTxBatch, kSlot};
  // Rooms before sessions: a transport leaves its room when destroyed.
  std::unordered_map<std::uint64_t, std::unique_ptr<Room>> rooms;
  std::unordered_map<std::string, std::unique_ptr<Session>> by_ufrag;
  std::unordered_map<SocketAddress, Session*, SocketAddressHash> by_addr;
  std::unordered_map<const Endpoint*, Session*> by_endpoint;
  std::vector<SpeakerEvent> speaker_events;
  std::vector<ParticipantId> changed_slots;
  std::vector<LayerChange> layer_changes;
  std::int64_t now_us = 0;
  // When what is queued now goes out: the time the current batch (or tick) started. Not
  // now_us, which is a received packet's kernel stamp while that packet is handled.
  std::int64_t batch_us = 0;
  std::int64_t next_speaker_us = 0;

  SfuCounters& c() { return worker.counters_; }

  // ---- DatagramSender: the sendmmsg batch ----
  rtc::MutableByteSpan slot() override {
    if (tx.full()) flush();
    return {tx.slot(), tx.slot_size()};
  }
  void send(const SocketAddress& to, std::size_t n) override { tx.commit(to, n); }
  std::int64_t send_time_us() const override { return batch_us; }
  void flush() {
    if (tx.queued() == 0) return;
    auto f = tx.flush(sock);
    bump(c().tx_packets, f.packets);
    bump(c().tx_bytes, f.bytes);
    bump(c().dropped_send, f.dropped);
  }

  // ---- TransportEvents ----
  void on_connected(Transport& t) override {
    emit({WorkerEvent::Type::kConnected, t.params().room, t.params().participant, true, {}});
  }
  void on_disconnected(Transport& t) override {
    emit({WorkerEvent::Type::kDisconnected, t.params().room, t.params().participant, true, {}});
  }

  // ---- receiving ----
  void arm() {
    watch.async_wait(asio::posix::stream_descriptor::wait_read,
                     [this](boost::system::error_code ec) {
                       if (ec) return;
                       on_readable();
                       arm();
                     });
  }

  void on_readable() {
    for (int round = 0; round < 16; ++round) {
      std::size_t n = rx.receive(sock);
      if (n == 0) break;
      now_us = mono_us();
      batch_us = now_us;
      // Media is timed by the kernel's receive stamp: the transport-wide feedback publishers'
      // bandwidth estimators read must not carry this worker's scheduling delay (a busy
      // node would otherwise look like a congested link and drag every publisher down).
      const std::int64_t offset_us = net::RxBatch::realtime_offset_us();
      for (std::size_t i = 0; i < n; ++i) {
        // Never after the batch's own time (a realtime clock step between stamp and read).
        now_us = std::min(rx.arrival_us(i, batch_us, offset_us), batch_us);
        handle_datagram(rtc::MutableByteSpan(rx.data(i), kSlot), rx.size(i), rx.from(i));
      }
      now_us = batch_us;
      flush();
      if (n < kRxBatch) break;
    }
  }

  Session* by_address(const SocketAddress& a) {
    auto it = by_addr.find(a);
    return it == by_addr.end() ? nullptr : it->second;
  }

  void handle_datagram(rtc::MutableByteSpan buf, std::size_t len, const SocketAddress& from) {
    bump(c().rx_packets);
    bump(c().rx_bytes, len);
    rtc::MutableByteSpan d = buf.first(len);
    rtc::PacketKind kind = rtc::classify_packet(d);
    if (kind == rtc::PacketKind::kStun) return handle_stun(d, from);
    if (kind != rtc::PacketKind::kDtls && kind != rtc::PacketKind::kRtp &&
        kind != rtc::PacketKind::kRtcp) {
      bump(c().dropped_malformed);
      return;
    }
    Session* s = by_address(from);
    if (!s) {
      bump(c().dropped_unknown);
      return;
    }
    Transport& t = *s->transport;
    if (kind == rtc::PacketKind::kDtls)
      t.on_dtls(d, from);
    else if (kind == rtc::PacketKind::kRtp)
      t.on_rtp(buf, len, now_us);
    else
      t.on_rtcp(buf, len, now_us);
  }

  void handle_stun(rtc::ByteSpan d, const SocketAddress& from) {
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
    if (!s.transport->on_stun(m, from, now_us)) return;
    if (!by_address(from) && s.addrs.size() < kMaxPathsPerSession) {
      by_addr[from] = &s;
      s.addrs.push_back(from);
    } else if (Session* other = by_address(from); other && other != &s) {
      // The address moved to another session (a client rejoined from the same port).
      std::erase(other->addrs, from);
      by_addr[from] = &s;
      s.addrs.push_back(from);
    }
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
    batch_us = now_us;
    std::int64_t now_ms = now_us / 1000;
    for (auto& [uf, s] : by_ufrag) s->transport->on_tick(now_us);
    for (auto& [id, room] : rooms) {
      room->on_tick(now_ms);
      layer_changes.clear();
      room->take_layer_changes(layer_changes);
      for (auto& ch : layer_changes) {
        WorkerEvent e{WorkerEvent::Type::kLayers, id, ch.publisher, false, {}};
        e.mid = std::move(ch.mid);
        e.layers = std::move(ch.active);
        emit(std::move(e));
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

  // ---- subscriptions ----
  std::uint32_t fresh_ssrc(Room& room) {
    for (;;) {
      auto v = static_cast<std::uint32_t>(rng());
      if (v != 0 && !room.track_by_ssrc(v)) return v;
    }
  }

  Subscription* subscribe(Room& room, ParticipantId subscriber, Track& t) {
    if (room.is_subscribed(subscriber, t)) return nullptr;
    std::uint32_t rtx = t.kind == MediaKind::kVideo ? fresh_ssrc(room) : 0;
    return room.subscribe(subscriber, t, fresh_ssrc(room), static_cast<std::uint16_t>(rng()),
                          static_cast<std::uint32_t>(rng()), rtx);
  }

  static SubscriptionInfo slot_info(const Subscription& slot) {
    return {slot.rewriter.out_ssrc(), slot.track ? slot.track->owner->id : 0, MediaKind::kAudio,
            slot.out_payload_type, slot.slot};
  }

  Session* session_of(const Participant& p) {
    auto it = by_endpoint.find(p.endpoint);
    return it == by_endpoint.end() ? nullptr : it->second;
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
              e.subscriptions.push_back({sub->rewriter.out_ssrc(), q->id, t->kind,
                                         sub->out_payload_type, -1, t->source, sub->rtx_ssrc,
                                         t->kind == MediaKind::kVideo ? t->codec_name : ""});
      Session* s = session_of(*p);
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
    room.update_selection(now_ms, changed_slots);
    for (ParticipantId id : changed_slots) {
      Participant* p = room.participant(id);
      if (!p) continue;
      WorkerEvent e{WorkerEvent::Type::kSlots, room.id(), id, false, {}};
      for (auto& slot : p->slots) e.subscriptions.push_back(slot_info(*slot));
      emit(std::move(e));
    }
  }

  // ---- control ----
  Session* find_session(std::uint64_t room, ParticipantId p) {
    for (auto& [uf, s] : by_ufrag)
      if (s->transport->params().room == room && s->transport->params().participant == p)
        return s.get();
    return nullptr;
  }

  void do_remove(std::uint64_t room_id, ParticipantId pid, bool announce) {
    Session* s = find_session(room_id, pid);
    if (!s) return;
    for (auto& a : s->addrs) {
      auto it = by_addr.find(a);
      if (it != by_addr.end() && it->second == s) by_addr.erase(it);
    }
    Room* room = &s->transport->room();
    bump(c().participants, static_cast<std::uint64_t>(-1));
    if (s->transport->connected()) bump(c().connected, static_cast<std::uint64_t>(-1));
    by_endpoint.erase(s->transport.get());
    by_ufrag.erase(s->transport->params().local.ufrag);  // the transport leaves the room
    bump(c().connections, static_cast<std::uint64_t>(-1));
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
                                         worker.options().max_forwarded_speakers, &c());
      bump(c().rooms);
    }
    Room& room = *room_slot;
    auto s = std::make_unique<Session>();
    s->transport = std::make_unique<Transport>(std::move(params), std::move(dtls.value()), room,
                                               fresh_ssrc(room), *this, c(), *this);
    // Audio goes through slots; screen tracks only to those who watch them (watch()).
    bump(c().connections);
    bump(c().participants);
    by_endpoint[s->transport.get()] = s.get();
    std::string key = s->transport->params().local.ufrag;
    by_ufrag[key] = std::move(s);
    emit_subscriptions(room);
    refresh_slots(room, mono_us() / 1000);
  }

  void do_update(std::uint64_t room_id, ParticipantId pid, std::vector<PublishedTrack> tracks,
                 std::vector<ReceiveCodec> codecs) {
    Session* s = find_session(room_id, pid);
    if (!s) return;
    if (s->transport->update(std::move(tracks), std::move(codecs))) {
      Room& room = s->transport->room();
      emit_subscriptions(room);
      refresh_slots(room, mono_us() / 1000);
    }
  }

  void do_watch(std::uint64_t room_id, ParticipantId viewer, ParticipantId publisher, bool on) {
    auto it = rooms.find(room_id);
    if (it == rooms.end()) return;
    Room& room = *it->second;
    Participant* pub = room.participant(publisher);
    if (!pub || !room.participant(viewer)) return;
    bool changed = false;
    if (!on) {
      changed = room.unsubscribe(viewer, publisher);
    } else {
      std::int64_t now_ms = mono_us() / 1000;
      for (auto& t : pub->tracks) {
        if (t->source != TrackSource::kScreen) continue;
        if (!subscribe(room, viewer, *t)) continue;
        changed = true;
        if (t->kind == MediaKind::kVideo) room.request_keyframe(*t, now_ms);
      }
    }
    if (changed) emit_subscriptions(room);
    flush();
  }

  void do_restart(std::uint64_t room, ParticipantId pid, rtc::ice::IceCredentials local,
                  rtc::ice::IceCredentials remote) {
    Session* s = find_session(room, pid);
    if (!s) return;
    auto node = by_ufrag.extract(s->transport->params().local.ufrag);
    s->transport->restart_ice(local, std::move(remote));
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
  auto addr = SocketAddress::parse_ip(options_.bind_ip, options_.port);
  if (!addr) throw std::system_error(EINVAL, std::generic_category(), "sfu bind_ip");
  // No SO_REUSEADDR: on Linux it lets a second UDP socket share the port, so a second SFU
  // given the same sfu.port would silently take some of this one's packets. A port in use
  // fails the start instead (UDP has no TIME_WAIT: a restart needs no reuse).
  impl_->sock = net::UdpSocket::bind(
      *addr, {.receive_buffer = 4 << 20, .send_buffer = 4 << 20, .rx_timestamps = true});
  impl_->watch.assign(impl_->sock.fd());
  port_ = impl_->sock.local_address().port;
  impl_->arm();
  impl_->arm_timer();
  thread_ = std::thread([this] {
    set_thread_name("hype-sfu-" + std::to_string(index_));
    impl_->io.run();
  });
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

void Worker::update_session(std::uint64_t room, ParticipantId participant,
                            std::vector<PublishedTrack> tracks,
                            std::vector<ReceiveCodec> video_codecs) {
  asio::post(impl_->io, [this, room, participant, t = std::move(tracks),
                         c = std::move(video_codecs)]() mutable {
    impl_->do_update(room, participant, std::move(t), std::move(c));
  });
}

void Worker::watch(std::uint64_t room, ParticipantId viewer, ParticipantId publisher) {
  asio::post(impl_->io,
             [this, room, viewer, publisher] { impl_->do_watch(room, viewer, publisher, true); });
}

void Worker::unwatch(std::uint64_t room, ParticipantId viewer, ParticipantId publisher) {
  asio::post(impl_->io,
             [this, room, viewer, publisher] { impl_->do_watch(room, viewer, publisher, false); });
}

}  // namespace hype::sfu
