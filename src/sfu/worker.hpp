// One SFU media worker: a thread with its own io_context and one UDP socket. Every room
// (voice channel) lives on exactly one worker, with its participants' transports (sessions):
// ICE-lite, DTLS server, SRTP, and the Room that forwards between them. Datagrams come in
// and go out in batches (recvmmsg/sendmmsg). A datagram reaches its session by the local
// ICE ufrag (STUN) or by source address (everything else, once a check from it passed).
// The control plane talks to a worker only through post(): add/remove a session, mute, ICE
// restart; the worker reports back through the event callback, on its own thread. The
// packet path never throws, never logs per packet and allocates nothing per packet.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "rtc/dtls_session.hpp"
#include "rtc/ice/ice_common.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "sfu/room.hpp"

namespace hype::sfu {

struct PublishedTrack {
  std::uint32_t ssrc = 0;
  MediaKind kind = MediaKind::kAudio;
  std::uint8_t payload_type = 111;
  std::uint32_t clock_rate = 48000;
  std::string mid;
};

// Everything a worker needs to run one participant's transport (from signaling, after SDP).
struct SessionParams {
  std::uint64_t room = 0;
  ParticipantId participant = 0;
  rtc::ice::IceCredentials local;
  rtc::ice::IceCredentials remote;
  std::string remote_fingerprint;  // "sha-256 AB:..."
  // Negotiated extension ids of its transport (from its answered audio m-sections): read
  // from its packets and written into the packets forwarded to it.
  rtc::ExtensionIds ext;
  std::uint8_t audio_payload_type = 111;  // the Opus payload type of its answered m-section
  std::vector<PublishedTrack> tracks;
};

struct SubscriptionInfo {
  std::uint32_t out_ssrc = 0;
  ParticipantId publisher = 0;  // an audio slot: its current source, 0 when none
  MediaKind kind = MediaKind::kAudio;
  std::uint8_t payload_type = 111;
  int slot = -1;  // >= 0: audio slot index (last-N); -1: a per-publisher subscription
};

struct WorkerEvent {
  enum class Type : std::uint8_t {
    kSubscriptions,  // `subscriptions` is the participant's full current list (slots first)
    kSlots,          // `subscriptions` is its audio slots in order, with their sources now
    kSpeaking,       // flag: speaking
    kActiveSpeaker,  // participant: the new active speaker (0: none)
    kConnected,      // DTLS-SRTP up
    kDisconnected,   // ICE consent lost or DTLS failed
  };
  Type type = Type::kSubscriptions;
  std::uint64_t room = 0;
  ParticipantId participant = 0;
  bool flag = false;
  std::vector<SubscriptionInfo> subscriptions;
};

// Monotonic counters, written by the worker thread, read by /metrics (relaxed).
struct WorkerCounters {
  std::atomic<std::uint64_t> rx_packets{0};
  std::atomic<std::uint64_t> rx_bytes{0};
  std::atomic<std::uint64_t> tx_packets{0};
  std::atomic<std::uint64_t> tx_bytes{0};
  std::atomic<std::uint64_t> forwarded_packets{0};
  std::atomic<std::uint64_t> forwarded_bytes{0};
  std::atomic<std::uint64_t> nacks{0};
  std::atomic<std::uint64_t> nack_hits{0};
  std::atomic<std::uint64_t> plis{0};
  std::atomic<std::uint64_t> dropped_malformed{0};     // unparseable STUN/RTP/RTCP, unknown kind
  std::atomic<std::uint64_t> dropped_unknown{0};       // no session for ufrag or address
  std::atomic<std::uint64_t> dropped_auth{0};          // ICE 401/400, SRTP auth or replay
  std::atomic<std::uint64_t> dropped_send{0};          // send queue full / socket refused
  std::atomic<std::uint64_t> dropped_not_selected{0};  // audio outside the last-N
  std::atomic<std::uint64_t> dropped_muted{0};         // server mute or no SPEAK permission
  std::atomic<std::uint64_t> slot_switches{0};         // an audio slot got a new source
  std::atomic<std::uint64_t> sessions{0};
  std::atomic<std::uint64_t> connected{0};
  std::atomic<std::uint64_t> rooms{0};
  std::atomic<std::uint64_t> participants{0};
  std::atomic<std::uint64_t> cpu_ns{0};  // worker thread CPU time
};

struct WorkerOptions {
  std::string bind_ip = "0.0.0.0";
  std::uint16_t port = 0;  // 0: ephemeral
  std::string announced_ip = "127.0.0.1";
  int max_forwarded_speakers = 3;  // audio slots per subscriber (last-N)
  SpeakerOptions speaker;
};

class Worker {
 public:
  using EventFn = std::function<void(WorkerEvent)>;

  Worker(int index, WorkerOptions options, std::shared_ptr<rtc::DtlsContext> dtls,
         EventFn on_event);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds the socket (throws std::system_error when it cannot) and starts the thread.
  void start();
  void stop();  // joins the thread

  int index() const { return index_; }
  std::uint16_t port() const { return port_; }
  const WorkerOptions& options() const { return options_; }
  const WorkerCounters& counters() const { return counters_; }

  // Thread-safe: queued to the worker thread.
  void add_session(SessionParams params);
  void remove_session(std::uint64_t room, ParticipantId participant);
  void set_server_mute(std::uint64_t room, ParticipantId participant, bool muted);
  void restart_ice(std::uint64_t room, ParticipantId participant, rtc::ice::IceCredentials local,
                   rtc::ice::IceCredentials remote);

  struct Impl;

 private:
  int index_;
  WorkerOptions options_;
  std::uint16_t port_ = 0;
  WorkerCounters counters_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace hype::sfu
