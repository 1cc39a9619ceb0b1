// One /voice WebSocket connection: the `{op,d}` ops of docs/protocol.md ("SFU signaling")
// for a single participant. It checks the identify (token, channel, voice grant), answers
// the client's offers and sets up or restarts its media session on the room's worker, and
// keeps the server-offered m-sections in step with what the worker says it should receive,
// batching server offers (one per kOfferBatchMs at most, one in flight). Everything that
// concerns the room as a whole (who else is there, replacing an older connection of the same
// user, placement, broadcasts) belongs to the SignalingHost, i.e. SfuService. All methods
// run on the signaling strand; only the WsListener callbacks come from the socket, and they
// post onto it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_message.hpp"
#include "rtc/ice/ice_common.hpp"
#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/server_offer.hpp"
#include "sfu/sfu_service.hpp"
#include "sfu/worker.hpp"

namespace hype::sfu {

class SignalingSession;

// What a session needs from the service that owns the room table and the workers.
class SignalingHost {
 public:
  // Where an admitted session lives: its worker and the room as it found it.
  struct Admission {
    int worker = 0;
    std::vector<std::uint64_t> others;    // users already there
    std::vector<std::uint64_t> speaking;  // of those, who speaks now
    std::uint64_t worker_sessions = 0;    // sessions admitted to that worker before this one
  };

  virtual const SfuOptions& options() const = 0;
  virtual std::string dtls_fingerprint() const = 0;
  virtual std::optional<VoiceIdentity> verify_token(const std::string& token,
                                                    std::string& error) = 0;
  // The session's grant now, to `done` on the signaling strand (inline when the check answers
  // at once); SessionGrant{} (full access) when the service checks none.
  virtual void check_grant(const VoiceIdentity& who, GrantDone done) = 0;
  virtual void count_rejected_token() = 0;
  // The service's own counters (join funnel, signaling errors), written on the strand only.
  virtual SfuCounters& counters() = 0;
  virtual Worker& worker(int index) = 0;
  // Enters the room of session.who().channel (replacing an older session of the same user)
  // and places it on a worker. The others learn of it through participant_join.
  virtual Admission admit(const std::shared_ptr<SignalingSession>& session) = 0;
  // Sends a frame to every current session in the channel but `except`.
  virtual void broadcast(std::uint64_t channel, const std::string& frame,
                         const SignalingSession* except = nullptr) = 0;
  // The session left its room (its media session already removed).
  virtual void leave(const std::shared_ptr<SignalingSession>& session) = 0;

  // ---- streams (screen share): the channel's record of who streams and who watches ----
  struct StreamInfo {
    std::string codec;                   // the video codec it is sent in
    std::vector<std::uint64_t> viewers;  // user ids, in the order they started watching
  };
  // `user`'s stream in `channel` started (codec set) or ended (nullopt; its viewers go too).
  virtual void set_stream(std::uint64_t channel, std::uint64_t user,
                          std::optional<std::string> codec) = 0;
  virtual const StreamInfo* stream(std::uint64_t channel, std::uint64_t user) = 0;
  virtual void set_watching(std::uint64_t channel, std::uint64_t streamer, std::uint64_t viewer,
                            bool on) = 0;
  // The `streams` event for the channel as it stands (sent after ready).
  virtual std::string streams_frame(std::uint64_t channel) = 0;

 protected:
  ~SignalingHost() = default;
};

// Which of a client's offered sections become tracks it publishes, from its offer and the
// answer to it; also the header-extension ids, the Opus payload type and the video codecs it
// receives. A voice connection publishes its microphone (audio sections); a stream
// connection (`stream`) publishes its screen: sending video sections (with their RTX SSRC
// from a=ssrc-group:FID and the answered rtx payload type) and audio sections.
void describe_publisher(const rtc::sdp::SessionDescription& offer,
                        const rtc::sdp::SessionDescription& answer, SessionParams& params,
                        bool stream = false);

class SignalingSession : public net::WsListener,
                         public std::enable_shared_from_this<SignalingSession> {
 public:
  // One server-offered m-section, in order; never removed, only made inactive.
  struct Section {
    std::string mid;
    std::uint32_t ssrc = 0;
    std::uint64_t publisher = 0;
    MediaKind kind = MediaKind::kAudio;
    std::uint8_t payload_type = 111;
    bool active = true;
    int audio_slot = -1;  // >= 0: an audio slot (last-N), `publisher` unused
    TrackSource source = TrackSource::kMic;
    std::uint32_t rtx_ssrc = 0;
    std::string codec;  // video: the only codec offered in it (the publisher's)
  };

  SignalingSession(boost::asio::any_io_executor strand, std::weak_ptr<SignalingHost> host,
                   std::shared_ptr<net::WsConnection> ws);

  // net::WsListener (socket side): posted onto the strand.
  void on_message(std::string_view text, bool is_text) override;
  void on_close() override;

  const VoiceIdentity& who() const { return who_; }
  // Its member id in the room: the user id, or stream_participant(user) for a stream connection.
  ParticipantId participant_id() const {
    return stream_conn_ ? stream_participant(who_.user) : who_.user;
  }
  bool stream_connection() const { return stream_conn_; }
  bool identified() const { return identified_; }
  bool replaced() const { return replaced_; }
  bool closed() const { return closed_; }

  // From the worker, routed by the host.
  void on_subscriptions(std::vector<SubscriptionInfo> desired);
  void on_slots(const std::vector<SubscriptionInfo>& slots);
  // The simulcast layers its section `mid` should send now (`layers` op, by rid).
  void send_layers(const std::string& mid, const std::vector<std::pair<std::string, bool>>& layers);
  // A newer connection of the same user took its place: its close must not end the media
  // session the new one now owns.
  void replace();
  // Its stream and its watching end in the channel's record (leaving, or replaced).
  void release_streams(SignalingHost& host);
  // The stream of `streamer` it watched ended: a later watch starts afresh.
  void forget_watch(std::uint64_t streamer);
  // Applies the voice grant as it stands now: ends the session (close 4006) when it no
  // longer stands, server-mutes or unmutes it when SPEAK changed.
  void recheck();
  // The channel is no longer this node's (it moved while this node was cut off): the client is
  // told to join again (`channel_moved`, close 4012) and the session ends.
  void end_moved(SignalingHost& host);

  void send(std::string_view op, const boost::json::value& d);
  void send_frame(const std::string& frame);

  // The server offer for the current sections (pure; for tests and send_offer).
  static std::vector<rtc::sdp::OutgoingStream> outgoing_streams(
      const std::vector<Section>& sections);
  static boost::json::array stream_list(const std::vector<Section>& sections);

 private:
  void handle(SignalingHost& host, const std::string& text);
  void fail(int code, std::string_view err, std::string_view message);
  void identify(SignalingHost& host, const boost::json::object& d);
  // The second half of identify, once the voice grant is known (inline, or after a Redis
  // round trip): admits the session, or refuses it.
  void identify_granted(const VoiceIdentity& who, const GrantAnswer& answer,
                        std::int64_t started_ns, const std::string& traceparent);
  void apply_grant(const GrantAnswer& answer);
  void replay_held(SignalingHost& host);
  void watch(SignalingHost& host, const boost::json::object& d, bool on);
  void end_stream(SignalingHost& host, std::string_view code, std::string_view message);
  void on_offer(SignalingHost& host, const boost::json::object& d);
  void quality(SignalingHost& host, const boost::json::object& d);
  void schedule_offer();
  void send_offer();
  void send_slots();
  void revoke(SignalingHost& host);
  // The state is missing from a store of another generation (the store restarted empty):
  // `state_lost` to the client (at each check while missing), which writes it back (a join
  // resuming its session) while media keeps flowing; a state still missing
  // SfuOptions::state_repair_grace after the first: ask_rejoin.
  void state_lost(SignalingHost& host);
  void ask_rejoin(SignalingHost& host);
  // `error` `code` (with `message`), close 4012 (`reason`): the client joins again.
  void end_join_again(SignalingHost& host, std::string_view code, std::string_view message,
                      std::string_view reason);
  void teardown(SignalingHost& host);
  void closed_by_peer(SignalingHost& host);

  std::weak_ptr<SignalingHost> host_;
  std::shared_ptr<net::WsConnection> ws_;
  boost::asio::any_io_executor strand_;
  boost::asio::steady_timer batch_timer_;
  bool identified_ = false;
  std::string generation_;  // of the voice-state store its grant was read from (GrantAnswer)
  // When `state_lost` was sent (the repair under way), while the state is missing.
  std::optional<std::chrono::steady_clock::time_point> state_lost_at_;
  // Between identify and its grant's answer: frames that arrive meanwhile wait here (bounded)
  // and are handled, in order, once the session is admitted.
  bool identifying_ = false;
  std::vector<std::string> held_;
  bool replaced_ = false;
  bool closed_ = false;
  bool torn_down_ = false;  // its media session and room membership are gone
  bool may_speak_ = true;   // from the voice grant: false drops its audio in the worker
  bool may_stream_ = true;  // from the voice grant: the voice state says self_stream
  bool stream_conn_ = false;
  std::vector<PublishedTrack> published_tracks_;  // what its last accepted offer publishes
  std::vector<ReceiveCodec> video_codecs_;
  bool streaming_ = false;               // its screen video is published
  std::vector<std::uint64_t> watching_;  // streamers (user ids) it watches
  VoiceIdentity who_;
  std::optional<telemetry::TraceContext> trace_;  // the sfu.identify span (traceparent's child)
  int worker_ = -1;
  std::uint64_t worker_sessions_ = 0;  // Admission::worker_sessions: sfu::audio_ptime_for
  bool published_ = false;
  telemetry::ReportGate report_gate_;  // at most one quality report per 4 s
  rtc::ice::IceCredentials local_, remote_;
  rtc::sdp::SessionDescription answer_;  // the client's own sections as answered
  std::vector<Section> sections_;        // server-offered m-sections, in order
  std::vector<SubscriptionInfo> desired_;
  std::vector<std::uint64_t> slot_users_;  // audio slot index -> current source (0: none)
  std::string last_slots_;                 // the last `slots` event sent
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point last_offer_{};  // when the last server offer went out
  bool offer_in_flight_ = false;
  bool dirty_ = false;
  int offer_version_ = 0;
};

}  // namespace hype::sfu
