// The SFU's media model for one voice channel, with no sockets: participants publish tracks
// (one SSRC each). Audio reaches subscribers through slots (last-N): each subscriber has up
// to max_forwarded_speakers audio slots, each an outgoing stream with its own RtpRewriter
// (own SSRC, sequence numbers and timestamps) whose source is whichever selected speaker
// the room assigns to it; packets of unselected publishers go nowhere. Other tracks (video)
// are per-publisher subscriptions. The owner (a worker) feeds decrypted RTP/RTCP in and gets
// per-subscriber sends out through each member's Endpoint (sfu/endpoint.hpp: a WebRTC
// Transport or another egress), or through a ForwardSink given per call; it calls
// update_selection() on its tick. NACK and PLI find their subscription through an index by
// (subscriber, outgoing SSRC), tracks through one by SSRC. Drops, NACKs, PLIs and slot
// switches are counted in the room's RoomCounters and in the owner's node-level SfuCounters.
// Everything here runs on the worker thread that owns the room; nothing on the packet path
// allocates (vectors and indexes only change on join, publish, leave and selection updates).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rtc/rtcp/nack_generator.hpp"
#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "rtc/rtp/red.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/video/payload.hpp"
#include "rtc/video/vp8.hpp"
#include "sfu/counters.hpp"
#include "sfu/endpoint.hpp"
#include "sfu/layer_allocator.hpp"
#include "sfu/layer_pause.hpp"
#include "sfu/packet_cache.hpp"
#include "sfu/pli_throttle.hpp"
#include "sfu/receive_stats.hpp"
#include "sfu/rtp_rewriter.hpp"
#include "sfu/speaker_detector.hpp"
#include "sfu/speaker_selector.hpp"

namespace hype::sfu {

using ParticipantId = std::uint64_t;
enum class MediaKind : std::uint8_t { kAudio, kVideo };
// A microphone track competes for audio slots (last-N); a screen track (a stream's video and
// its tab or system audio) is forwarded only to those who watch it.
enum class TrackSource : std::uint8_t { kMic, kScreen };

// A stream connection's participant id in the room: the user id with the top bit set, so a
// user's voice connection and stream connection are two members (user ids stay below 2^63).
inline constexpr ParticipantId kStreamParticipantBit = 1ull << 63;
constexpr ParticipantId stream_participant(std::uint64_t user) {
  return user | kStreamParticipantBit;
}
constexpr std::uint64_t user_of(ParticipantId p) {
  return p & ~kStreamParticipantBit;
}
constexpr bool is_stream_participant(ParticipantId p) {
  return (p & kStreamParticipantBit) != 0;
}

// One track as its publisher's answered SDP describes it.
struct PublishedTrack {
  std::uint32_t ssrc = 0;
  MediaKind kind = MediaKind::kAudio;
  std::uint8_t payload_type = 111;
  std::uint32_t clock_rate = 48000;
  std::string mid;
  TrackSource source = TrackSource::kMic;
  std::string codec = "opus";         // the primary codec's name, as in rtpmap
  std::uint32_t rtx_ssrc = 0;         // video: a=ssrc-group:FID secondary, 0 when none
  std::uint8_t rtx_payload_type = 0;  // the publisher's rtx payload type for `payload_type`
  // Audio: the publisher's RED (RFC 2198) payload type over `payload_type`, 0 when it sends
  // none; its packets come in either type.
  std::uint8_t red_payload_type = 0;
  // Audio: the publisher accepted generic NACK (a=rtcp-fb nack on its Opus): the SFU asks it
  // again for audio it lost. Video is always NACKed.
  bool nack = false;
  // Video simulcast (RFC 8853): the rids of its encodings, lowest quality first (the order of
  // the offer's a=simulcast send list). `ssrc` and `rtx_ssrc` are then 0: each layer's SSRCs
  // are learned from the rid / repaired-rid header extensions of its first packets.
  std::vector<std::string> rids;
};

// A codec a subscriber accepted in its own (answered) video section: what packets of that
// codec must carry when forwarded to it.
struct ReceiveCodec {
  std::string name;
  std::uint8_t payload_type = 0;
  std::uint8_t rtx_payload_type = 0;  // 0: it did not accept RTX for this codec
};

struct Participant;
struct Track;

// One outgoing stream of a subscriber: a per-publisher subscription (slot < 0, `track` fixed)
// or an audio slot (slot >= 0, `track` is the current source or nullptr).
struct Subscription {
  Participant* subscriber = nullptr;
  Track* track = nullptr;
  RtpRewriter rewriter;
  std::uint8_t out_payload_type = 0;
  std::string mid;  // the subscriber-side m-section carrying it (slots: slot_mid(slot))
  int slot = -1;
  // Video: retransmissions go out as RTX (RFC 4588) on their own SSRC when the subscriber
  // accepted rtx; otherwise a NACK is answered with the original packet again.
  std::uint32_t rtx_ssrc = 0;
  std::uint8_t out_rtx_payload_type = 0;
  mutable std::uint16_t rtx_seq = 0;  // advanced by the endpoint that sends the RTX
  // Video: nothing reaches a new subscriber before the start of a keyframe (it could not
  // decode it, and would only ask for a keyframe).
  bool waiting_keyframe = false;
  // Simulcast (track->layers not empty): the layer whose packets it forwards now (nullptr
  // before the first keyframe) and the layer it should forward. A switch waits for a
  // keyframe of the target layer while the current one keeps flowing (no freeze).
  Track* source = nullptr;
  int target_layer = -1;
  // VP8 across layers: each layer numbers its pictures on its own, so the viewer's picture
  // id and TL0PICIDX are rewritten to continue across a switch. The room sets out_* for the
  // packet it hands the endpoint (-1: leave the field as it is), which patches its copy.
  rtc::video::Vp8PictureIdMunger vp8;
  int out_picture_id = -1;
  int out_tl0_pic_idx = -1;
  // Temporal layers (VP8 TID) of the layer it forwards: the highest it should forward and the
  // highest it forwards now (-1: all). A step down applies at the next frame; a step up goes
  // one layer at a time, at a frame of the next layer that references base-layer frames only
  // (VP8's Y bit), or at a keyframe. Frames above are skipped: no sequence gap, no picture id
  // gap.
  int target_temporal = -1;
  int temporal = -1;
  // The newest packet of the layer it forwards (forwarded or skipped): packets lost upstream
  // between two packets of skipped pictures are skipped too (Room::skip_lost_between).
  struct LastIn {
    bool valid = false;
    std::uint16_t seq = 0;
    bool skipped = false;
    bool marker = false;  // the last packet of its frame
    int picture_id = -1;
    int tl0 = -1;  // its TL0PICIDX
  };
  LastIn last_in;
  // The last changes of `temporal`: the step before each and the last number sent under it,
  // so a NACK is judged by the step its number was sent under (step_at()).
  struct StepChange {
    std::uint16_t last_out = 0;
    int before = -1;
  };
  static constexpr std::size_t kStepHistory = 4;
  std::array<StepChange, kStepHistory> step_changes{};
  std::size_t step_change_count = 0;  // since the source took the slot
  int step_at(std::uint16_t out_seq) const;
  // While a spatial switch waits for its keyframe: the target layer's temporal layer, taken
  // at the switch (target_temporal then applies to the layer still flowing: its lowest step
  // when going down, so the old layer does not fill a link that just shrank; nothing of it,
  // kTemporalNone, when even that is far above the estimate: a short freeze until the
  // keyframe rather than a queue that overflows and loses pieces of every frame).
  static constexpr int kTemporalNone = -2;
  // ... when the old layer's lowest step is above this many times the estimate (a link
  // overloaded by half again fills a 150 ms queue in a third of a second; a mild excess
  // drains after the switch).
  static constexpr double kCutOldLayerFactor = 1.5;
  int next_temporal = -1;
  // Hysteresis of the layer allocator: when its last spatial switch (up or down) was decided,
  // and the estimate then. An up-switch waits kUpSwitchHoldMs after either, unless the
  // estimate doubled (a down-switch followed at once by an up-switch is flapping too).
  std::int64_t last_switch_ms = -1;
  std::uint64_t switch_budget_bps = 0;
  bool last_switch_up = false;
  std::int64_t up_hold_ms = kUpSwitchHoldMs;  // doubled by failed up-switches

  // The track whose packets it carries now: the layer for simulcast, else `track`.
  Track* current() const { return source ? source : track; }
};

struct Track {
  Participant* owner = nullptr;
  std::uint32_t ssrc = 0;
  MediaKind kind = MediaKind::kAudio;
  std::uint8_t payload_type = 0;
  std::uint32_t clock_rate = 48000;
  std::string mid;
  TrackSource source = TrackSource::kMic;
  std::string codec_name;
  rtc::video::Codec codec = rtc::video::Codec::kUnknown;
  std::uint32_t rtx_ssrc = 0;
  std::uint8_t rtx_payload_type = 0;
  std::uint8_t red_payload_type = 0;  // audio: see PublishedTrack
  // Audio: the highest sequence number received (a gap before a RED packet is rebuilt from
  // its redundancy for the subscribers that take plain Opus).
  bool have_seq = false;
  std::uint16_t highest_seq = 0;
  PacketCache cache;
  PliThrottle pli;
  bool keyframe_pending = false;  // a keyframe request the throttle held back: sent when due
  ReceiveStats stats;
  // What the SFU itself lost from the publisher and asks for again: video always, audio when
  // the publisher accepted NACK (`nacked`).
  bool nacked = false;
  rtc::NackGenerator nack;
  std::vector<std::unique_ptr<Subscription>> subscriptions;
  std::vector<Subscription*> slot_feeds;  // audio slots this track currently feeds

  // ---- simulcast ----
  // A simulcast video track (the "group") has no SSRC of its own: it holds the subscriptions
  // and its `layers`, lowest quality first, each a Track with its own SSRC (0 until its
  // first packet names its rid), cache, NACK and keyframe throttle, and `group` set.
  std::vector<std::unique_ptr<Track>> layers;
  Track* group = nullptr;
  std::string rid;
  int layer = 0;
  // Layers: what arrived lately, for the allocator (bytes in the current and last 500 ms
  // window) and liveness.
  std::int64_t last_packet_ms = -1;
  std::int64_t rate_window_start_ms = 0;
  std::uint64_t rate_bytes = 0;
  std::uint64_t rate_bps = 0;  // of the last complete window
  // The same per temporal layer (VP8 TID, T0..T3), and how many temporal layers the last
  // complete window had (0: its packets carry no TID).
  std::array<std::uint64_t, kMaxTemporalLayers> rate_bytes_tid{};
  std::array<std::uint64_t, kMaxTemporalLayers> rate_bps_tid{};
  std::array<std::uint32_t, kMaxTemporalLayers> frames_tid{};  // frames started, this window
  std::array<double, kMaxTemporalLayers> fps_tid{};            // ... per second, smoothed
  int window_max_tid = -1;
  int temporal_layers = 0;
  // Layers: when its current run of packets started (its first packet after it was not
  // live; -1: never).
  std::int64_t live_since_ms = -1;
  // Group: its last packet before its latest whole-stream silence (kLayerSilenceMs or more
  // with nothing from any layer; -1: none yet).
  std::int64_t quiet_from_ms = -1;
  void note_bytes(std::size_t n, std::int64_t now_ms, int temporal_id = -1,
                  bool frame_start = false);
  // Group: which layers the publisher should encode (sfu/layer_pause.hpp); a layer it paused
  // sends nothing and is never picked for a viewer.
  std::optional<LayerPauser> pauser;
  bool layer_running(const Track& layer) const {
    return !pauser || pauser->running(static_cast<std::size_t>(layer.layer));
  }
  // A layer is live unless the other layers of its group went on sending for
  // kLayerSilenceMs after its last packet (the publisher paused it, or its encoder dropped it
  // for bandwidth or CPU). A whole stream gone quiet (a static screen) keeps its layers.
  static constexpr std::int64_t kLayerSilenceMs = 400;
  bool live() const {
    return last_packet_ms >= 0 &&
           (!group || group->last_packet_ms - last_packet_ms < kLayerSilenceMs);
  }

  Track(std::size_t cache_packets, std::uint32_t rate, rtc::NackOptions nack_options = {})
      : cache(cache_packets), stats(rate), nack(nack_options) {}
};

// Calls f(Track&) for every RTP stream `p` receives on: its tracks, and the layers of its
// simulcast tracks in place of the track itself.
template <class F>
void for_each_stream(Participant& p, F&& f);

// The mid signaling gives the m-section of audio slot `slot` (one naming rule for both sides).
std::string slot_mid(int slot);

struct Participant {
  ParticipantId id = 0;
  bool server_muted = false;
  bool stream_only = false;  // a stream connection: no audio slots, not a voice member
  // Its negotiated extension ids (one map per BUNDLE transport, RFC 8843 9.2): what its
  // packets carry, and what the packets forwarded to it must use.
  rtc::ExtensionIds ext;
  std::uint8_t audio_payload_type = 111;  // its answered Opus payload type (for its slots)
  // Its answered RED payload type over that Opus: RED packets reach it as RED; 0: they reach
  // it unwrapped to their primary Opus frame.
  std::uint8_t audio_red_payload_type = 0;
  std::vector<ReceiveCodec> video_codecs;  // what it accepted for video (for watched streams)
  Endpoint* endpoint = nullptr;            // its media connection (nullptr: nothing sent to it)
  std::vector<std::unique_ptr<Track>> tracks;
  std::vector<std::unique_ptr<Subscription>> slots;  // its audio slots (never shrink)
};

template <class F>
void for_each_stream(Participant& p, F&& f) {
  for (auto& t : p.tracks) {
    if (t->layers.empty()) {
      f(*t);
    } else {
      for (auto& l : t->layers) f(*l);
    }
  }
}

// Where the room's decisions go when the caller gives a sink (tests, benchmarks); without one
// they go to the members' endpoints. The source packet is the publisher's decrypted packet, parsed
// and its extensions located once; the sink writes the subscriber's copy into its send buffer
// (rtc::write_forwarded: ssrc, seq, ts, pt and the subscriber's extension ids) and protects it.
class ForwardSink {
 public:
  virtual ~ForwardSink() = default;
  virtual void forward(const Subscription& sub, const rtc::RtpPacket& source,
                       const rtc::PacketExtensions& ext, std::uint16_t seq, std::uint32_t ts) = 0;
  // A resend as RTX on sub.rtx_ssrc (RFC 4588): `osn` is the original outgoing sequence
  // number; the sink numbers the RTX stream. Default: the original packet again.
  virtual void forward_rtx(const Subscription& sub, const rtc::RtpPacket& source,
                           const rtc::PacketExtensions& ext, std::uint16_t osn, std::uint32_t ts) {
    forward(sub, source, ext, osn, ts);
  }
  // Ask the publisher of `track` for a keyframe (already throttled).
  virtual void request_keyframe(const Track& track) = 0;
};

// The payload type a forwarded copy of `source` carries to `sub`'s subscriber: its RED type
// for a RED packet (the room hands RED packets only to subscribers that accepted RED), else
// the subscription's (the subscriber's type for the track's codec).
inline std::uint8_t forwarded_payload_type(const Subscription& sub, const rtc::RtpPacket& source) {
  const Track* t = sub.track;
  if (t && t->red_payload_type != 0 && source.payload_type() == t->red_payload_type)
    return sub.subscriber->audio_red_payload_type;
  return sub.out_payload_type;
}

// The layers a publisher's simulcast group should send now, by rid (Room::take_layer_changes).
struct LayerChange {
  ParticipantId publisher = 0;
  std::string mid;
  std::vector<std::pair<std::string, bool>> active;  // (rid, running), lowest first
};

struct RoomCounters {
  std::uint64_t rtp_in = 0;
  std::uint64_t forwarded_packets = 0;
  std::uint64_t forwarded_bytes = 0;
  std::uint64_t dropped_muted = 0;
  std::uint64_t dropped_unknown_ssrc = 0;
  std::uint64_t dropped_stale = 0;         // older than a rewriter switch
  std::uint64_t dropped_not_selected = 0;  // audio of a publisher outside the last-N
  std::uint64_t slot_switches = 0;         // an audio slot got a new source
  std::uint64_t nacks = 0;                 // sequence numbers asked for
  std::uint64_t nack_hits = 0;             // answered from the cache
  std::uint64_t plis = 0;                  // keyframe requests received
  std::uint64_t plis_forwarded = 0;
  std::uint64_t rtx_sent = 0;                 // NACKs answered as RTX
  std::uint64_t dropped_duplicate = 0;        // video packets already received (RTX probes)
  std::uint64_t dropped_before_keyframe = 0;  // video for a subscriber waiting for a keyframe
  std::uint64_t keyframe_requests = 0;        // sent to publishers (throttled, coalesced)
  std::uint64_t red_unwrapped = 0;            // RED packets sent as their primary Opus frame
  std::uint64_t red_recovered = 0;            // lost publisher packets rebuilt from RED
  std::uint64_t audio_padding = 0;            // padding-only audio, forwarded cut to 1 byte
  std::uint64_t dropped_red = 0;              // RED payloads that do not parse
  std::uint64_t dropped_duplicate_audio = 0;  // audio the SFU already had
  std::uint64_t layer_switches = 0;           // a simulcast subscription changed layer
  std::uint64_t dropped_other_layer = 0;      // simulcast packets of a layer nobody takes now
  std::uint64_t dropped_temporal = 0;     // packets of a temporal layer above a viewer's (skipped)
  std::uint64_t padding_for_skipped = 0;  // NACKs answered with padding (a skipped picture)
  std::uint64_t layer_pauses = 0;         // layers the room asked their publisher to pause
  std::uint64_t layer_resumes = 0;        // ... and to resume
};

class Room {
 public:
  // `node`: the owner's counters, also bumped for drops, NACKs, PLIs and slot switches
  // (nullptr: a block of the room's own).
  explicit Room(std::uint64_t id, SpeakerOptions speaker_options = {},
                int max_forwarded_speakers = 3, SfuCounters* node = nullptr);
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  std::uint64_t id() const { return id_; }
  Participant& add_participant(ParticipantId id);
  void remove_participant(ParticipantId id);
  Participant* participant(ParticipantId id);
  const std::vector<std::unique_ptr<Participant>>& participants() const { return participants_; }
  bool empty() const { return participants_.empty(); }

  // A new track of `owner`; nullptr when the SSRC (or its RTX SSRC) is already used in the room.
  Track* publish(ParticipantId owner, const PublishedTrack& t);
  Track* publish(ParticipantId owner, std::uint32_t ssrc, MediaKind kind, std::uint8_t pt,
                 std::uint32_t clock_rate, std::string mid);
  void unpublish(std::uint32_t ssrc);
  // Unpublishes what `spec` published for `owner` (by SSRC, or a simulcast track by its mid).
  void unpublish(ParticipantId owner, const PublishedTrack& spec);
  Track* track_by_ssrc(std::uint32_t ssrc);
  // A packet of `from` with an SSRC the room does not know: if its rid (or repaired-rid, for
  // RTX) header extension names a layer of one of from's simulcast tracks whose SSRC is not
  // known yet, that SSRC becomes the layer's (or its RTX SSRC). Returns the layer or nullptr.
  Track* bind_layer(Participant& from, const rtc::RtpPacket& pkt);
  // `subscriber` receives `track` as out_ssrc; nullptr if it is the subscriber's own track.
  // Video goes out in the subscriber's payload type for the track's codec (nullptr when it
  // accepted none: never forward a codec a viewer did not accept), waits for a keyframe and
  // retransmits as RTX on `rtx_ssrc` when the subscriber accepted rtx for that codec. Audio
  // goes out in the subscriber's Opus payload type.
  Subscription* subscribe(ParticipantId subscriber, Track& track, std::uint32_t out_ssrc,
                          std::uint16_t initial_seq, std::uint32_t initial_ts,
                          std::uint32_t rtx_ssrc = 0);
  // Ends every subscription of `subscriber` to `publisher`'s tracks; false when it had none.
  bool unsubscribe(ParticipantId subscriber, ParticipantId publisher);
  // Whether `subscriber` could receive `track` (a codec in common for video).
  bool can_receive(ParticipantId subscriber, const Track& track);
  Subscription* subscription(ParticipantId subscriber, std::uint32_t out_ssrc);
  bool is_subscribed(ParticipantId subscriber, const Track& track) const;

  void set_server_mute(ParticipantId id, bool muted);

  // ---- audio slots (last-N) ----
  // How many slots `subscriber` should have: min(max_forwarded_speakers, others).
  std::size_t wanted_slots(ParticipantId subscriber) const;
  // Appends one slot to `subscriber` (the owner picks its SSRC and random initial numbers).
  Subscription* add_slot(ParticipantId subscriber, std::uint32_t out_ssrc,
                         std::uint16_t initial_seq, std::uint32_t initial_ts);
  // Re-runs the selection and rebinds slots. Appends to `changed` every subscriber whose
  // slot sources changed (a participant who keeps being selected keeps its slot).
  void update_selection(std::int64_t now_ms, std::vector<ParticipantId>& changed);
  const SpeakerSelector& selector() const { return selector_; }

  // ---- packet path ----
  // One decrypted RTP packet from `from`, with its extensions located under from.ext. Stores
  // it for NACKs, updates stats and audio level, and forwards it to every subscriber of its
  // track.
  void on_rtp(Participant& from, const rtc::RtpPacket& pkt, const rtc::PacketExtensions& ext,
              std::int64_t now_us, ForwardSink& sink);
  // A subscriber's NACK for out_ssrc: resends what the cache still holds. Returns hits.
  std::size_t on_nack(ParticipantId subscriber, std::uint32_t out_ssrc,
                      std::span<const std::uint16_t> out_seqs, std::int64_t now_ms,
                      ForwardSink& sink);
  // A subscriber's PLI/FIR for out_ssrc: forwarded to the publisher at most once per interval.
  bool on_keyframe_request(ParticipantId subscriber, std::uint32_t out_ssrc, std::int64_t now_ms,
                           ForwardSink& sink);
  // The same, delivered to the members' endpoints.
  void on_rtp(Participant& from, const rtc::RtpPacket& pkt, const rtc::PacketExtensions& ext,
              std::int64_t now_us);
  std::size_t on_nack(ParticipantId subscriber, std::uint32_t out_ssrc,
                      std::span<const std::uint16_t> out_seqs, std::int64_t now_ms) {
    return on_nack(subscriber, out_ssrc, out_seqs, now_ms, endpoints_);
  }
  bool on_keyframe_request(ParticipantId subscriber, std::uint32_t out_ssrc, std::int64_t now_ms) {
    return on_keyframe_request(subscriber, out_ssrc, now_ms, endpoints_);
  }

  // Bandwidth probe padding towards `viewer`: its recent video packets again as RTX (on a
  // subscription that takes RTX), at least `min_bytes` in at least `min_packets` packets.
  // Returns the bytes handed out, 0 when it has nothing to probe with.
  std::size_t send_probe(ParticipantId viewer, std::size_t min_bytes, int min_packets,
                         std::int64_t now_ms, ForwardSink& sink);
  std::size_t send_probe(ParticipantId viewer, std::size_t min_bytes, int min_packets,
                         std::int64_t now_ms) {
    return send_probe(viewer, min_bytes, min_packets, now_ms, endpoints_);
  }

  // Asks the track's publisher for a keyframe now, or as soon as the throttle allows (the
  // request is remembered, not dropped: a new watcher must not wait for the next natural one).
  void request_keyframe(Track& track, std::int64_t now_ms, ForwardSink& sink);
  void request_keyframe(Track& track, std::int64_t now_ms) {
    request_keyframe(track, now_ms, endpoints_);
  }
  // Sends the keyframe requests the throttle held back and that are now due, and every
  // kAllocateIntervalMs re-allocates simulcast layers per viewer (the owner's tick).
  static constexpr std::int64_t kAllocateIntervalMs = 100;
  void on_tick(std::int64_t now_ms, ForwardSink& sink);
  // Picks every simulcast subscription's target layer from its viewer's downlink estimate
  // (Endpoint::downlink_estimate_bps) and asks for keyframes where a switch waits.
  void allocate_layers(std::int64_t now_ms, ForwardSink& sink);
  void on_tick(std::int64_t now_ms) { on_tick(now_ms, endpoints_); }
  // Per simulcast group (after allocate_layers): which layers must run for its watchers
  // (sfu::wanted_layers, LayerPauser). Changes are queued for take_layer_changes.
  void update_running_layers(std::int64_t now_ms);
  // Moves the running-set changes since the last call into `out` (the owner tells each
  // publisher's stream connection).
  void take_layer_changes(std::vector<LayerChange>& out);

  SpeakerDetector& speakers() { return speakers_; }
  const RoomCounters& counters() const { return counters_; }

 private:
  // Hands the room's decisions to the members' endpoints.
  struct EndpointSink final : ForwardSink {
    void forward(const Subscription& sub, const rtc::RtpPacket& source,
                 const rtc::PacketExtensions& ext, std::uint16_t seq, std::uint32_t ts) override;
    void forward_rtx(const Subscription& sub, const rtc::RtpPacket& source,
                     const rtc::PacketExtensions& ext, std::uint16_t osn,
                     std::uint32_t ts) override;
    void request_keyframe(const Track& track) override;
  };
  struct SubscriptionKey {
    ParticipantId subscriber;
    std::uint32_t out_ssrc;
    bool operator==(const SubscriptionKey&) const = default;
  };
  struct SubscriptionKeyHash {
    std::size_t operator()(const SubscriptionKey& k) const noexcept {
      return std::hash<std::uint64_t>{}(k.subscriber * 0x9E3779B97F4A7C15ull ^ k.out_ssrc);
    }
  };

  std::uint64_t id_;
  std::vector<std::unique_ptr<Participant>> participants_;
  void reindex();
  // on_rtp for either kind of sink: with the (final) EndpointSink the per-subscriber call
  // goes straight to the endpoint, one virtual call per forward as before the seam.
  template <class Sink>
  void route_rtp(Participant& from, const rtc::RtpPacket& pkt, const rtc::PacketExtensions& ext,
                 std::int64_t now_us, Sink& sink);
  void bind(Subscription& slot, Track* source);
  // Sets sub.out_picture_id / out_tl0_pic_idx for a VP8 packet of simulcast layer `layer`;
  // false when the munger cannot map it (a picture too old): the packet must not go out.
  // `dropped`: a packet of a picture the viewer does not get (the ids after it close up).
  static bool munge_vp8(Subscription& sub, const Track& layer, const rtc::RtpPacket& pkt,
                        bool dropped = false);
  // Whether `sub` forwards a packet of its layer's temporal layer `info.temporal_id` (and, at
  // a frame start, the step its target asks for).
  // For packets newer than every packet of its layer before it only: a late frame start (a
  // retransmission, a reordered packet) belongs to a picture whose fate was decided already,
  // and a late packet goes by the step its number was passed under (Subscription::step_at).
  static bool takes_temporal(Subscription& sub, const rtc::video::PayloadInfo& info);
  // Packets the publisher's link lost just before `pkt` that can only belong to pictures
  // `sub` skips (the packets on both sides of the gap are skipped ones of the same or the next
  // picture, or the gap lies between such a picture's end and the next picture's start):
  // skipped too, so the viewer sees no loss it could never repair. Any other gap stays (the
  // viewer NACKs it, the SFU resends what the publisher's retransmission brings).
  // For in-order packets only (newer than sub.last_in).
  static void skip_lost_between(Subscription& sub, const Track& layer, const rtc::RtpPacket& pkt,
                                const rtc::video::PayloadInfo& info, bool skipped);
  // Sends `sub`'s packet out_seq again from the cache (as RTX where it takes RTX), with the
  // numbers it first went out with; returns its size, 0 when it is no longer there.
  std::size_t resend(Subscription& sub, std::uint16_t out_seq, std::int64_t now_ms,
                     ForwardSink& sink, bool probe = false);
  // A video subscription of `viewer` that takes RTX and has sent something (probe padding).
  Subscription* probe_subscription(ParticipantId viewer);
  void unbind_slots_of(Participant& p);
  Track* audio_track(ParticipantId id);
  Track* selected_track(std::uint64_t id) const;
  bool assign_slots(Participant& subscriber);

  SpeakerDetector speakers_;
  SpeakerSelector selector_;
  RoomCounters counters_;
  SfuCounters own_node_;  // used when the owner gives none
  SfuCounters& node_;
  EndpointSink endpoints_;
  // Rebuilt on leave and unpublish, extended on publish, subscribe and add_slot.
  std::unordered_map<std::uint32_t, Track*> tracks_by_ssrc_;
  std::unordered_map<SubscriptionKey, Subscription*, SubscriptionKeyHash> subs_by_ssrc_;
  bool slots_dirty_ = false;
  std::int64_t next_allocate_ms_ = 0;
  std::int64_t next_trace_ms_ = 0;  // the next trace line of watchers' estimates
  std::vector<LayerChange> layer_changes_;
  std::vector<std::uint64_t> wanted_;                              // scratch for assign_slots
  std::vector<std::pair<std::uint64_t, Track*>> selected_tracks_;  // primary, then reserve
  // A cached packet re-parsed for a NACK resend (the cache hands out read-only bytes).
  std::array<std::uint8_t, PacketCache::kMaxPacketSize> resend_{};
  // RED (RFC 2198) for subscribers that take plain Opus: `pkt` (a RED packet of `track`)
  // with `payload` as its payload in the track's Opus type (fixed header and CSRCs kept, no
  // extension block or padding) written into `buf`; nullopt when it does not fit. An empty
  // `payload` makes a padding-only packet of one padding byte (audio padding, route_rtp).
  static std::optional<rtc::RtpPacket> plain_copy(const rtc::RtpPacket& pkt, rtc::ByteSpan payload,
                                                  const Track& track, std::span<std::uint8_t> buf);
  // Rebuilds the packets lost just before RED packet `pkt` (seq up to `highest_seq`) from its
  // redundant blocks and forwards them to the subscribers in `plain_subs`; the rebuilt packets
  // are cached (a late original is then a duplicate).
  template <class Sink>
  void recover_from_red(Track& track, const rtc::RtpPacket& pkt, const rtc::RedPayload& red,
                        std::int64_t now_ms, Sink& sink);
  std::array<std::uint8_t, PacketCache::kMaxPacketSize> plain_{};
  std::array<std::uint8_t, PacketCache::kMaxPacketSize> recovered_{};
  std::array<std::uint8_t, rtc::kRtpFixedHeaderSize + 4 * 15 + 1> padding_{};  // + CSRCs + 1
};

}  // namespace hype::sfu
