// Voice channels: who is in which channel (through the Coordinator), whether a channel runs
// peer to peer or on the SFU (mode policy, state in a ModeCoordinator), which SFU node serves
// it (Placement), ICE servers with TURN credentials, signed voice
// tokens for the SFU, and the P2P signaling relay rule (only between users in one channel).
// Access follows rights: every event that can take a right away (a member removed, a role or
// member's roles changed, a channel or guild deleted) re-checks the affected voice states
// here, and a state whose CONNECT/VIEW_CHANNEL is gone ends, one whose SPEAK is gone is
// suppressed. The SFU asks voice_grant() (by token session) whether a session may go on.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/tokens.hpp"
#include "chat/chat_service.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "cluster/event_log.hpp"
#include "cluster/mode_coordinator.hpp"
#include "cluster/placement.hpp"
#include "voice/mode_policy.hpp"

namespace hype::voice {

struct VoiceOptions {
  std::string mode = "auto";  // auto | p2p | sfu
  int p2p_max_users = 8;
  int sfu_return_delay = 60;  // seconds at or below p2p_max_users - 2 before going back to P2P
  int token_ttl = 300;
  std::string turn_secret;
  std::vector<std::string> turn_urls;
  std::vector<std::string> stun_urls;
  int turn_ttl = 86400;
  // Region preferred when placing a channel on an SFU node (this API node's server.region),
  // unless the channel has its own (rtc_region) or its first joiner hints one; empty: any.
  std::string region;
  // Each region's nearest others (cluster.nearby_regions): tried, nearest first, before any
  // other region when a channel's region has no SFU node with room.
  std::map<std::string, std::vector<std::string>> nearby_regions;
  // Only for the constructor without a Placement: the one SFU node it announces (empty id:
  // none, voice stays peer to peer). Wired servers announce nodes to their Placement instead.
  std::string sfu_node_id;
  std::string sfu_url;  // ws(s)://host:port/voice
};

// A STUN or TURN server for RTCPeerConnection's iceServers (TURN with a time-limited
// credential; STUN with neither field).
struct IceServer {
  std::vector<std::string> urls;
  std::string username;
  std::string credential;
};

// The answer to a join: the channel's transport, its participants, and what the client needs
// to reach them (ICE servers, a voice token for the SFU and where that SFU is).
struct JoinAnswer {
  Mode mode = Mode::p2p;
  Id channel_id = 0;
  Id guild_id = 0;
  std::vector<cluster::VoiceState> participants;
  std::vector<IceServer> ice_servers;
  std::string voice_token;
  std::int64_t voice_token_expires_at = 0;  // unix ms
  int bitrate = 0;
  std::optional<cluster::Placed> sfu;  // none while no SFU node is placed
};

// Where voice events go (cluster::EventLog: joins, leaves, mode switches, streams): both set,
// or no events at all (tests that do not look at them).
struct VoiceEventSink {
  cluster::EventLog* log = nullptr;
  SnowflakeGenerator* ids = nullptr;
};

struct ChannelMode {
  Id channel_id = 0;
  Mode mode = Mode::p2p;
};

// What an SFU session may do now, from the voice state its token was minted for.
struct VoiceGrant {
  bool may_speak = true;
  bool may_stream = false;  // live (self_stream): the SFU takes the user's screen tracks
};
// nullopt when `user` is no longer in `channel` under the voice-state session `session`
// (left, moved, kicked, channel deleted, or a token minted for an earlier stay). Reads only
// the Coordinator, so an SFU-only node can answer it without the database.
std::optional<VoiceGrant> voice_grant(cluster::Coordinator& coord, Id user, Id channel,
                                      std::uint64_t session);
// The same, awaited (the SFU asks it on the event loop; with Redis it is a round trip, and it
// throws cluster::RedisError when the state cannot be read), with the generation of the store
// it was read from (cluster::VoiceLookup).
struct VoiceGrantCheck {
  std::optional<VoiceGrant> grant;
  std::string generation;
};
cluster::Task<VoiceGrantCheck> async_voice_grant(cluster::Coordinator& coord, Id user, Id channel,
                                                 std::uint64_t session);

class VoiceService {
 public:
  // Shared state behind the cluster seam: voice states (coord), channel placement and the
  // mode policy's state. These are blocking calls: the service runs on the blocking pool.
  VoiceService(chat::ChatService& chat, cluster::Coordinator& coord, cluster::Placement& placement,
               cluster::ModeCoordinator& modes, const auth::VoiceTokenSigner& signer,
               VoiceOptions opts, VoiceEventSink events = {});

  // `sfu_unreachable`: the SFU node the client just lost its connection to (a rejoin after a
  // failure): checked first (Placement::report_unreachable), so a dead node's channel moves
  // now rather than once its heartbeat is 3 s old. `region_hint`: the region the client says
  // it is near (a region name, or empty): where a channel without rtc_region is placed when
  // this join places it. `resume_session`: the stay to keep when the user has no voice state
  // (the store lost it: the SFU said `state_lost`); the SFU connection granted under that
  // session then finds its grant again and its media never stops. 0: a new stay.
  // `sfu_current`: the SFU node the client is connected to (with a write-back): a channel the
  // store forgot is placed there again rather than anywhere, so the call is not moved.
  JoinAnswer join(Id actor, Id channel_id, bool self_mute, bool self_deaf,
                  const std::string& sfu_unreachable = {}, const std::string& region_hint = {},
                  std::int64_t resume_session = 0, const std::string& sfu_current = {});
  void leave(Id actor, Id channel_id);
  // Leaves whatever channel the user is in (gateway gone for good).
  void leave_any(Id actor);
  void update_self(Id actor, bool self_mute, bool self_deaf);
  // Go Live: the caller must be in `channel_id` (409 not_in_channel) and hold STREAM there
  // (403 missing_permission); sets self_stream (VOICE_STATE_UPDATE). Stopping answers the
  // state, or nullopt when the caller was not live there.
  cluster::VoiceState start_stream(Id actor, Id channel_id);
  std::optional<cluster::VoiceState> stop_stream(Id actor, Id channel_id);
  std::vector<cluster::VoiceState> states(Id actor, Id channel_id);
  // The channel's SFU node, or where it would go now; none without SFU nodes.
  std::optional<cluster::Placed> sfu_node(Id actor, Id channel_id);
  // The regions to place a channel in, nearest first, as Placement takes them ("eu,us,ap"):
  // `region` (the channel's rtc_region or a joiner's hint; empty: this API node's region),
  // then its nearby regions. nullopt: no preference.
  std::optional<std::string> placement_regions(const std::string& region = {}) const;
  // The channel's current transport.
  ChannelMode channel_mode(Id actor, Id channel_id);
  // Periodic (about once a second, from the ticker src/app runs): channels whose SFU return
  // delay ran out go back to P2P, and the node-expiry sweep runs (sweep_nodes).
  void tick();
  // The channel both users are in, or 0 when they are not in the same one. Awaitable: the
  // gateway asks on its event loop for every P2P signal.
  cluster::Task<Id> async_shared_channel(Id a, Id b);
  Id shared_channel(Id a, Id b) { return cluster::wait(async_shared_channel(a, b)); }
  std::vector<IceServer> ice_servers(Id user) const;
  // Feed of every bus event (wired in app): re-checks voice states when rights change.
  void on_event(const cluster::Event& e);
  // Re-checks the voice states of `user` (0: everyone) in `guild` against their permissions
  // now: no membership, VIEW_CHANNEL or CONNECT ends the state, no SPEAK suppresses it, no
  // STREAM ends the stream (self_stream).
  void revalidate(Id guild_id, Id user_id);
  // An SFU node stopped serving: records sfu_node_lost. Called by join when a client's report
  // (sfu_failed) proves the node gone, and by the sweep for a node whose heartbeat expired.
  void sfu_node_lost(const std::string& node_id);

 private:
  // Appends a voice event (id and time filled in here). A failed append is logged and
  // dropped: the voice state change it describes has already happened and must not fail.
  void emit(cluster::VoiceEvent e);
  // Events for a state that ended (leave, move, kick): stream_stop if it was live, then leave.
  void emit_ended(const cluster::VoiceState& s, Mode mode);
  void emit_stream(const cluster::VoiceState& s, bool live);
  int guild_users(Id guild_id);
  void publish_state(const cluster::VoiceState& s);
  // Ends a voice state as a leave does (event + mode update); false if it was already gone.
  bool end_state(Id user_id, Id channel_id);
  struct ChannelUpdate {
    Mode mode = Mode::p2p;
    std::optional<cluster::Placed> placed;  // the channel's SFU node while it has people
  };
  // Feeds the channel's current participant count to the mode policy, announces a change with
  // VOICE_MODE_UPDATE, places the channel on an SFU node (or releases it when empty) and
  // returns both.
  // `regions`: where to place it if it needs a new node (placement_regions()).
  ChannelUpdate update_channel(Id channel_id, Id guild_id, std::optional<std::string> regions);
  void publish_mode(Id channel_id, Id guild_id, Mode m);
  // The channel was moved off a node that is gone: VOICE_SERVER_UPDATE to its users in voice,
  // who reconnect to the new node (no-op when `placed` did not move it).
  void announce_move(const cluster::Placed& placed, Id guild_id);
  void announce_move(const cluster::Placed& placed, Id guild_id,
                     const std::vector<cluster::VoiceState>& states);
  // The node-expiry sweep (Placement::sweep): the channels of SFU nodes that left the registry
  // move to live nodes and their users are told (VOICE_SERVER_UPDATE) without waiting for
  // anyone to rejoin; a moved channel nobody is in any more is released. Skipped while the
  // store is unreachable (nothing can be placed anywhere then).
  void sweep_nodes();

  // Set by the short constructor only: what it owns.

  chat::ChatService& chat_;
  cluster::Coordinator& coord_;
  cluster::Placement& placement_;
  cluster::ModeCoordinator& modes_;
  const auth::VoiceTokenSigner& signer_;
  VoiceOptions opts_;
  VoiceEventSink events_;
  // Serializes count reads with what they feed (mode policy, placement) on this node, so
  // concurrent joins and leaves apply in the order they were counted. A shared backend does
  // the same with one script per channel.
  std::mutex mode_mu_;
};

}  // namespace hype::voice
