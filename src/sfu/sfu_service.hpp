// The SFU role of a node: its media workers (rooms pinned to one worker each) and the /voice
// WebSocket signaling that puts participants on them. A client identifies with the signed
// voice token from /voice/join, publishes with its own SDP offer (answered at once), and then
// receives server offers whenever its m-sections change: they are batched (one offer per
// 100 ms at most, one in flight) so a crowd joining at once costs a few renegotiations, not
// one per arrival. Audio arrives in at most max_forwarded_speakers slots (last-N); a `slots`
// event says which user each slot carries whenever that changes. Participant
// join/leave/speaking/mute events go to everyone in the room. docs/protocol.md ("SFU
// signaling") is the contract; docs/design/signaling.md maps the parts.
//
// SfuService owns the room table, the workers, the choice of worker (WorkerPlacement) and
// the routing of worker events; each connection's protocol is a SignalingSession
// (signaling_session.hpp) and its server offers come from rtc::sdp::build_server_offer. All
// signaling state lives on one strand; workers report back by posting onto it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/http_message.hpp"
#include "rtc/dtls_certificate.hpp"
#include "sfu/worker.hpp"
#include "telemetry/quality_metrics.hpp"
#include "telemetry/trace.hpp"

namespace hype::sfu {

struct VoiceIdentity {
  std::uint64_t user = 0;
  std::uint64_t channel = 0;
  std::uint64_t session = 0;  // the voice-state session the token was minted for
};
// Checks a voice token; on failure returns nullopt and sets error ("expired", "invalid").
using VerifyVoiceToken =
    std::function<std::optional<VoiceIdentity>(const std::string& token, std::string& error)>;

// What a session may still do, asked of the voice state it stands for (the Coordinator):
// nullopt when it stands for nothing any more (left, kicked, channel deleted, a permission
// removed). Asked at identify, on recheck_user() and by a sweep once a second, so access ends
// within a second even when the event that should have said so was lost.
struct SessionGrant {
  bool may_speak = true;
  bool may_stream = true;  // the voice state says self_stream: its screen may be published
};
// A stream started or stopped carrying media on this node, or its watchers changed (user ids).
// Called on the signaling strand: it must not block (a reporter posts the event on).
using StreamReport = std::function<void(std::uint64_t channel, std::uint64_t user, bool live,
                                        std::vector<std::uint64_t> viewers)>;
using CheckVoiceGrant = std::function<std::optional<SessionGrant>(const VoiceIdentity&)>;
// A grant check that may wait for shared state (the Coordinator on Redis). `unknown`: the state
// could not be read (Redis unreachable): identify is refused with "try again" (4007), a session
// already in progress keeps the grant it had (media never stops because Redis did).
// `generation`: of the store the state was read from (cluster::VoiceLookup; "" in process). A
// session whose state is gone from a store of another generation than the one it was granted
// under is asked to rejoin (4012) rather than ended: the store restarted empty, nobody left.
struct GrantAnswer {
  std::optional<SessionGrant> grant;
  bool unknown = false;
  std::string generation;
};
using GrantDone = std::function<void(GrantAnswer)>;
// Calls `done` once, on any thread, inline or later; the service takes it back to its strand.
using CheckVoiceGrantAsync = std::function<void(const VoiceIdentity&, GrantDone done)>;

struct SfuOptions {
  std::string node_id = "local";
  int workers = 0;  // 0: one per core
  std::uint16_t port = 0;
  std::string announced_ip = "127.0.0.1";
  // Port put in ICE candidates instead of the worker's own (a relay or forwarded port in
  // front of it); 0: the worker's port. Needs workers = 1: one port names one worker.
  std::uint16_t announced_port = 0;
  std::string bind_ip = "0.0.0.0";
  // Answer RED (RFC 2198) over Opus first where a client offers it, so browsers send audio
  // with redundancy (rtc::sdp::AnswerOptions::audio_red).
  bool audio_red = true;
  // Keep NACK on audio where offered (rtc::sdp::AnswerOptions::audio_nack).
  bool audio_nack = true;
  // Opus packet length asked of clients, ms (rtc::sdp::AnswerOptions::audio_ptime_ms); 0: none.
  int audio_ptime_ms = 10;
  // From this many sessions admitted to the worker, answers ask for 20 ms instead (0: never).
  int audio_ptime_busy_at = 300;
  int max_forwarded_speakers = 3;  // voice.max_forwarded_speakers: audio slots per listener
  SpeakerOptions speaker;          // speaking detection and last-N hold/switch times
  StreamReport on_stream;          // empty: streams are only announced on /voice
  // Aggregates clients' `quality` reports (thread-safe); null: reports are ignored.
  telemetry::QualityMetrics* quality = nullptr;
  // Join spans (sfu.identify, sfu.ice_connected, sfu.first_packet); null: none.
  telemetry::Tracer* tracer = nullptr;
  // How long a session whose voice state a reset store lost keeps going after `state_lost`
  // while its client writes the state back (one REST join, then the next grant check within a
  // second) before it is asked to rejoin (4012).
  std::chrono::milliseconds state_repair_grace{5000};
};

// The node's counters for /metrics: HYPE_SFU_COUNTERS summed over the workers and the
// service's own block, and each worker's block alone (per-worker rows such as CPU time).
struct SfuStats : SfuCounterValues {
  std::vector<SfuCounterValues> per_worker;  // index: worker
};

// The Opus packet length (ms, for rtc::sdp::AnswerOptions::audio_ptime_ms) an answer asks of a
// client whose worker had `participants` sessions admitted before it: options.audio_ptime_ms,
// or 20 from options.audio_ptime_busy_at on (0: never), where half the packets to forward
// matter more than ~10 ms of latency (docs/benchmarks.md, the 1,000-user ramp).
int audio_ptime_for(const SfuOptions& options, std::uint64_t participants);

class WorkerPlacement;
// Builds the placement for this many workers (at start()); empty: LeastLoadedPlacement.
using MakePlacement = std::function<std::unique_ptr<WorkerPlacement>(int workers)>;

class SfuService {
 public:
  // An empty `grant` trusts a verified token for its lifetime (tests of signaling alone).
  SfuService(boost::asio::any_io_executor ex, SfuOptions options, VerifyVoiceToken verify,
             CheckVoiceGrant grant = {}, MakePlacement placement = {});
  // The same with a grant check that answers asynchronously.
  SfuService(boost::asio::any_io_executor ex, SfuOptions options, VerifyVoiceToken verify,
             CheckVoiceGrantAsync grant, MakePlacement placement = {});
  ~SfuService();

  void start();  // binds worker sockets (throws std::system_error) and starts their threads
  void stop();

  // For net::HttpServer's WsOpen on path /voice.
  std::shared_ptr<net::WsListener> open(std::shared_ptr<net::WsConnection> conn,
                                        const net::HttpRequest& req);
  // Server mute from a moderator: drops the user's packets in the SFU.
  void set_server_mute(std::uint64_t channel, std::uint64_t user, bool muted);
  // The user's voice state changed: their sessions are checked against the grant at once
  // (ended with close 4006 when it no longer stands, server-muted when SPEAK is gone).
  void recheck_user(std::uint64_t user);
  // The channels with participants on this node and who is in each (voice connections, not
  // stream connections), read on the signaling strand and given to `done` there. (A callback,
  // not a coroutine: clang 14's fuzzer instrumentation cannot build coroutines in this file.)
  using RoomMap = std::map<std::uint64_t, std::vector<std::uint64_t>>;
  void rooms(std::function<void(RoomMap)> done) const;
  // The channel moved to another SFU node (this one drains): every connection in it, voice and
  // stream, gets `server_update` naming the new node, so a client connects there before it
  // leaves this one (the gateway's VOICE_SERVER_UPDATE says the same; this reaches clients
  // without a gateway, and sooner).
  struct NodeRef {
    std::string id, url, region;
  };
  void server_update(std::uint64_t channel, NodeRef to);
  // The channel is another node's now (this one lost it while cut off): `server_update` to its
  // connections at once, and after `grace` (their time to connect there) every connection
  // still in it is ended (`channel_moved`, close 4012: join again).
  void release_room(std::uint64_t channel, NodeRef to, std::chrono::milliseconds grace);

  SfuStats stats() const;
  std::vector<std::uint16_t> worker_ports() const;
  const std::string& node_id() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hype::sfu
