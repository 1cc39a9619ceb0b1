// One SFU media worker: a thread with its own io_context and one UDP socket (net::UdpSocket,
// received and sent in batches). Every room (voice channel) lives on exactly one worker,
// with its participants' Transports (sfu/transport.hpp: ICE-lite, DTLS, SRTP, RTCP, the send
// path). The worker keeps the tables and the clock: a datagram reaches its transport by the
// local ICE ufrag (STUN) or by source address (everything else, once a check from it
// passed); a 20 ms tick drives the transports' timers and the rooms' speaker detection and
// last-N selection; subscription changes are announced to signaling. The control plane talks
// to a worker only through post(): add/remove a session, mute, ICE restart; the worker
// reports back through the event callback, on its own thread. The packet path never throws,
// never logs per packet and allocates nothing per packet.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rtc/dtls_session.hpp"
#include "rtc/ice/ice_common.hpp"
#include "sfu/counters.hpp"
#include "sfu/room.hpp"
#include "sfu/transport.hpp"

namespace hype::sfu {

struct SubscriptionInfo {
  std::uint32_t out_ssrc = 0;
  ParticipantId publisher = 0;  // an audio slot: its current source, 0 when none
  MediaKind kind = MediaKind::kAudio;
  std::uint8_t payload_type = 111;
  int slot = -1;  // >= 0: audio slot index (last-N); -1: a per-publisher subscription
  TrackSource source = TrackSource::kMic;
  std::uint32_t rtx_ssrc = 0;  // video: where NACKs are answered (RFC 4588), 0: none
  std::string codec;           // video: the publisher's codec (the section offers only it)
};

struct WorkerEvent {
  enum class Type : std::uint8_t {
    kSubscriptions,  // `subscriptions` is the participant's full current list (slots first)
    kSlots,          // `subscriptions` is its audio slots in order, with their sources now
    kSpeaking,       // flag: speaking
    kActiveSpeaker,  // participant: the new active speaker (0: none)
    kConnected,      // DTLS-SRTP up
    kDisconnected,   // ICE consent lost or DTLS failed
    kLayers,         // participant (a publisher): encode only the `layers` of section `mid`
  };
  Type type = Type::kSubscriptions;
  std::uint64_t room = 0;
  ParticipantId participant = 0;
  bool flag = false;
  std::vector<SubscriptionInfo> subscriptions;
  std::string mid;                                   // kLayers: the simulcast video section
  std::vector<std::pair<std::string, bool>> layers;  // kLayers: (rid, running), lowest first
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
  const SfuCounters& counters() const { return counters_; }

  // Thread-safe: queued to the worker thread.
  void add_session(SessionParams params);
  void remove_session(std::uint64_t room, ParticipantId participant);
  void set_server_mute(std::uint64_t room, ParticipantId participant, bool muted);
  void restart_ice(std::uint64_t room, ParticipantId participant, rtc::ice::IceCredentials local,
                   rtc::ice::IceCredentials remote);
  // A renegotiation of an existing session: its published tracks and receive codecs now.
  void update_session(std::uint64_t room, ParticipantId participant,
                      std::vector<PublishedTrack> tracks, std::vector<ReceiveCodec> video_codecs);
  // `viewer` starts (stops) receiving every screen track of `publisher`: on demand, nothing
  // of a stream is forwarded to anyone who did not ask. Starting asks for a keyframe at once.
  void watch(std::uint64_t room, ParticipantId viewer, ParticipantId publisher);
  void unwatch(std::uint64_t room, ParticipantId viewer, ParticipantId publisher);

  struct Impl;

 private:
  int index_;
  WorkerOptions options_;
  std::uint16_t port_ = 0;
  SfuCounters counters_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace hype::sfu
