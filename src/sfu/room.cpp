#include "sfu/room.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "sfu/layer_allocator.hpp"

namespace hype::sfu {

namespace {
constexpr std::size_t kAudioCachePackets = 128;  // ~2.5 s of 20 ms Opus, ~1.3 s of 10 ms
constexpr std::size_t kVideoCachePackets = 1024;
constexpr std::int64_t kNackMaxAgeMs = 1000;  // older than this is useless to a jitter buffer
// Audio the SFU lost is worth asking for while a jitter buffer (~40-200 ms) can still play
// it: a few tries, about one round trip of a mobile link apart.
constexpr rtc::NackOptions kAudioNack{64, 400, 3, 80};
// A watched stream's audio (stereo Opus at up to 128 kbit/s, plus headers).
constexpr std::uint64_t kAudioHeadroomBps = 150'000;
}  // namespace

void Track::note_bytes(std::size_t n, std::int64_t now_ms, int temporal_id, bool frame_start) {
  constexpr std::int64_t kWindowMs = 500;
  // A layer's first packet after it fell silent while the other layers of its group went on
  // (its publisher paused it, its encoder dropped it): what it measured before it stopped
  // stands until a full window of it is in. Its first packets back are no measure of it, and
  // a rate read from them (0, or a window cut short by the stop) would offer it to the
  // allocator as a layer that costs next to nothing (a weak viewer switched up to it and
  // straight back). While silent it is not picked (not live).
  bool back_alone = false;
  if (group) {
    if (group->last_packet_ms >= 0 && now_ms - group->last_packet_ms >= kLayerSilenceMs)
      group->quiet_from_ms = group->last_packet_ms;  // the whole stream was quiet until now
    // The others' last packet while this layer was silent: before the whole stream went
    // quiet, if it did at or after this layer's last packet.
    const std::int64_t others_until =
        group->quiet_from_ms >= last_packet_ms ? group->quiet_from_ms : group->last_packet_ms;
    back_alone = last_packet_ms >= 0 && others_until - last_packet_ms >= kLayerSilenceMs;
  }
  const bool complete = now_ms - rate_window_start_ms >= kWindowMs;
  if (complete && !back_alone) {
    // A window with nothing in it for a window or more (a whole stream gone quiet, a static
    // screen) reads 0 on every layer: they cost next to nothing now.
    const bool gap = now_ms - rate_window_start_ms >= 2 * kWindowMs;
    auto bps = [&](std::uint64_t bytes) {
      return gap ? 0 : bytes * 8 * 1000 / static_cast<std::uint64_t>(kWindowMs);
    };
    rate_bps = bps(rate_bytes);
    for (std::size_t t = 0; t < kMaxTemporalLayers; ++t) {
      rate_bps_tid[t] = bps(rate_bytes_tid[t]);
      // Frames per window move in steps of 2 fps: smoothed over about four windows, so a
      // 30 fps layer's T0 reads 7-8 fps, not 6 or 8 by turns (kFreezeMarginMs decides on it).
      const double fps = frames_tid[t] * 1000.0 / static_cast<double>(kWindowMs);
      fps_tid[t] = gap ? 0 : fps_tid[t] <= 0 ? fps : 0.75 * fps_tid[t] + 0.25 * fps;
    }
    temporal_layers = gap ? 0 : window_max_tid + 1;
  }
  if (complete || back_alone) {
    rate_bytes = 0;
    rate_bytes_tid = {};
    frames_tid = {};
    window_max_tid = -1;
    rate_window_start_ms = now_ms;
  }
  rate_bytes += n;
  if (temporal_id >= 0) {
    const auto t =
        std::min<std::size_t>(static_cast<std::size_t>(temporal_id), kMaxTemporalLayers - 1);
    rate_bytes_tid[t] += n;
    if (frame_start) ++frames_tid[t];
    window_max_tid = std::max(window_max_tid, static_cast<int>(t));
  }
  if (!live()) live_since_ms = now_ms;
  last_packet_ms = now_ms;
  if (group && group->last_packet_ms < now_ms) group->last_packet_ms = now_ms;
}

std::string slot_mid(int slot) {
  return "a" + std::to_string(slot);
}

Room::Room(std::uint64_t id, SpeakerOptions speaker_options, int max_forwarded_speakers,
           SfuCounters* node)
    : id_(id),
      speakers_(speaker_options),
      selector_(SelectorOptions{max_forwarded_speakers, speaker_options.selection_hold_ms,
                                speaker_options.switch_margin, speaker_options.switch_hold_ms}),
      node_(node ? *node : own_node_) {}

void Room::EndpointSink::forward(const Subscription& sub, const rtc::RtpPacket& source,
                                 const rtc::PacketExtensions& ext, std::uint16_t seq,
                                 std::uint32_t ts) {
  if (Endpoint* e = sub.subscriber->endpoint) e->send_rtp(sub, source, ext, seq, ts);
}

void Room::EndpointSink::forward_rtx(const Subscription& sub, const rtc::RtpPacket& source,
                                     const rtc::PacketExtensions& ext, std::uint16_t osn,
                                     std::uint32_t ts) {
  if (Endpoint* e = sub.subscriber->endpoint) e->send_rtx(sub, source, ext, osn, ts);
}

void Room::EndpointSink::request_keyframe(const Track& track) {
  if (Endpoint* e = track.owner->endpoint) e->request_keyframe(track.ssrc);
}

void Room::reindex() {
  tracks_by_ssrc_.clear();
  subs_by_ssrc_.clear();
  for (auto& p : participants_) {
    for_each_stream(*p, [&](Track& t) {
      if (t.ssrc) tracks_by_ssrc_.emplace(t.ssrc, &t);
      if (t.rtx_ssrc) tracks_by_ssrc_.emplace(t.rtx_ssrc, &t);
    });
    for (auto& t : p->tracks) {
      for (auto& sub : t->subscriptions)
        subs_by_ssrc_.try_emplace({sub->subscriber->id, sub->rewriter.out_ssrc()}, sub.get());
    }
  }
  // A subscriber's slot wins over a subscription with the same outgoing SSRC (as the walk
  // this index replaces did).
  for (auto& p : participants_)
    for (auto& slot : p->slots) subs_by_ssrc_[{p->id, slot->rewriter.out_ssrc()}] = slot.get();
}

Participant& Room::add_participant(ParticipantId id) {
  if (Participant* p = participant(id)) return *p;
  auto p = std::make_unique<Participant>();
  p->id = id;
  p->stream_only = is_stream_participant(id);
  participants_.push_back(std::move(p));
  if (!is_stream_participant(id)) speakers_.add(id);
  slots_dirty_ = true;
  return *participants_.back();
}

void Room::remove_participant(ParticipantId id) {
  Participant* p = participant(id);
  if (!p) return;
  // Its subscriptions to others' tracks, then its own tracks (with their subscriptions).
  for (auto& other : participants_) {
    for (auto& t : other->tracks) {
      std::erase_if(t->subscriptions, [&](const auto& s) { return s->subscriber == p; });
    }
  }
  for (auto& slot : p->slots) bind(*slot, nullptr);
  unbind_slots_of(*p);
  speakers_.remove(id);
  selector_.remove(id);
  slots_dirty_ = true;
  std::erase_if(participants_, [&](const auto& x) { return x.get() == p; });
  reindex();
}

Participant* Room::participant(ParticipantId id) {
  for (auto& p : participants_)
    if (p->id == id) return p.get();
  return nullptr;
}

Track* Room::publish(ParticipantId owner, std::uint32_t ssrc, MediaKind kind, std::uint8_t pt,
                     std::uint32_t clock_rate, std::string mid) {
  PublishedTrack t;
  t.ssrc = ssrc;
  t.kind = kind;
  t.payload_type = pt;
  t.clock_rate = clock_rate;
  t.mid = std::move(mid);
  t.codec = kind == MediaKind::kAudio ? "opus" : "VP8";
  return publish(owner, t);
}

namespace {
// What a track (or a simulcast layer) takes from its publisher's description.
void describe_track(Track& t, Participant& owner, const PublishedTrack& spec) {
  t.owner = &owner;
  t.kind = spec.kind;
  t.payload_type = spec.payload_type;
  t.clock_rate = spec.clock_rate;
  t.mid = spec.mid;
  t.source = spec.source;
  t.codec_name = spec.codec;
  t.codec = rtc::video::codec_from_name(spec.codec);
  t.rtx_payload_type = spec.rtx_payload_type;
}
}  // namespace

Track* Room::publish(ParticipantId owner, const PublishedTrack& spec) {
  Participant* p = participant(owner);
  const bool simulcast = spec.kind == MediaKind::kVideo && !spec.rids.empty();
  if (!p) return nullptr;
  if (simulcast) {
    // One simulcast track per mid; its layers' SSRCs come with their first packets.
    for (auto& t : p->tracks)
      if (!t->layers.empty() && t->mid == spec.mid) return nullptr;
  } else {
    if (track_by_ssrc(spec.ssrc)) return nullptr;
    if (spec.rtx_ssrc && (spec.rtx_ssrc == spec.ssrc || track_by_ssrc(spec.rtx_ssrc)))
      return nullptr;
  }
  const bool audio = spec.kind == MediaKind::kAudio;
  // The group keeps no packets (small cache); each layer is a video stream of its own.
  auto t = std::make_unique<Track>(simulcast || audio ? kAudioCachePackets : kVideoCachePackets,
                                   spec.clock_rate, audio ? kAudioNack : rtc::NackOptions{});
  describe_track(*t, *p, spec);
  t->nacked = !simulcast && (!audio || spec.nack);
  t->ssrc = simulcast ? 0 : spec.ssrc;
  t->rtx_ssrc = simulcast ? 0 : spec.rtx_ssrc;
  if (spec.kind == MediaKind::kAudio) t->red_payload_type = spec.red_payload_type;
  // Only microphones compete for slots (a listen-only client never takes one).
  if (spec.kind == MediaKind::kAudio && spec.source == TrackSource::kMic) selector_.add(owner);
  slots_dirty_ = true;
  if (simulcast) {
    t->pauser.emplace(spec.rids.size());
    for (std::size_t i = 0; i < spec.rids.size(); ++i) {
      auto l = std::make_unique<Track>(kVideoCachePackets, spec.clock_rate);
      describe_track(*l, *p, spec);
      l->nacked = true;
      l->group = t.get();
      l->rid = spec.rids[i];
      l->layer = static_cast<int>(i);
      t->layers.push_back(std::move(l));
    }
  }
  p->tracks.push_back(std::move(t));
  Track* added = p->tracks.back().get();
  if (added->ssrc) tracks_by_ssrc_.emplace(added->ssrc, added);
  if (added->rtx_ssrc) tracks_by_ssrc_.emplace(added->rtx_ssrc, added);
  return added;
}

int Subscription::step_at(std::uint16_t out_seq) const {
  // Newest change first: a number after its last one was sent under the step that followed.
  int step = temporal;
  const std::size_t n = std::min(step_change_count, kStepHistory);
  for (std::size_t k = 0; k < n; ++k) {
    const StepChange& c = step_changes[(step_change_count - 1 - k) % kStepHistory];
    if (rtc::seq_newer(out_seq, c.last_out)) return step;
    step = c.before;
  }
  // Older than the changes remembered: the oldest step known (a guess past kStepHistory).
  return step;
}

bool Room::takes_temporal(Subscription& sub, const rtc::video::PayloadInfo& info) {
  const int before = sub.temporal;
  if (info.frame_start && sub.temporal != sub.target_temporal) {
    // Order: nothing < T0 < T1 < ... < all (-1).
    auto rank = [](int t) { return t == Subscription::kTemporalNone ? -1 : t < 0 ? 1 << 20 : t; };
    if (sub.temporal == Subscription::kTemporalNone) {
      // Whole pictures were dropped, T0 ones too: only a keyframe starts over.
      if (info.keyframe) sub.temporal = sub.target_temporal;
    } else if (rank(sub.target_temporal) < rank(sub.temporal) || info.keyframe ||
               info.temporal_id < 0) {
      // Down at once; up at a keyframe, or at any frame of a layer without temporal layers.
      sub.temporal = sub.target_temporal;
    } else if (sub.temporal >= 0 && info.temporal_id == sub.temporal + 1 && info.layer_sync) {
      // Up one layer at a time, at a frame of the next layer that references base-layer frames
      // only (VP8's Y bit). At any other frame of that layer the decoder could be handed a
      // reference to one of its earlier frames, which this viewer never got: the picture ids
      // are closed up, so it could not even tell, and would decode against a stale buffer.
      sub.temporal =
          rank(sub.target_temporal) <= info.temporal_id ? sub.target_temporal : info.temporal_id;
    }
  }
  if (sub.temporal != before) {
    sub.step_changes[sub.step_change_count % Subscription::kStepHistory] = {
        sub.rewriter.last_out_seq(), before};
    ++sub.step_change_count;
  }
  if (sub.temporal == Subscription::kTemporalNone) return false;
  return info.temporal_id < 0 || sub.temporal < 0 || info.temporal_id <= sub.temporal;
}

void Room::skip_lost_between(Subscription& sub, const Track& layer, const rtc::RtpPacket& pkt,
                             const rtc::video::PayloadInfo& info, bool skipped) {
  // More lost in a row than this is not a few packets of a skipped picture.
  constexpr int kMaxSkippedGap = 64;
  Subscription::LastIn& last = sub.last_in;
  const std::uint16_t seq = pkt.sequence_number();
  const int newer = static_cast<std::int16_t>(seq - last.seq);  // > 0: callers pass in-order ones
  if (last.valid && newer > 1 && newer - 1 <= kMaxSkippedGap && last.picture_id >= 0 &&
      info.picture_id >= 0) {
    // The pictures the lost packets can belong to: the previous packet's (unless it ended its
    // frame), this one's (unless it starts its frame), and any between them (unknown: they
    // may be base-layer pictures the viewer needs). Picture ids are 15 or 7 bits.
    const int d15 = (info.picture_id - last.picture_id) & 0x7FFF;
    const bool short_ids = info.picture_id < 128 && last.picture_id < 128;
    const int d = short_ids ? (info.picture_id - last.picture_id) & 0x7F : d15;
    // Pictures between the two: none when adjacent; when the viewer takes base-layer (T0)
    // pictures only, none it takes when TL0PICIDX says no T0 picture came between (it counts
    // T0 pictures; this packet's own counts when it is one); when it takes nothing, none.
    constexpr int kMaxPictureGap = 8;
    bool between_skipped = d <= 1 || sub.temporal == Subscription::kTemporalNone;
    if (!between_skipped && sub.temporal == 0 && d <= kMaxPictureGap && last.tl0 >= 0 &&
        info.tl0_pic_idx >= 0) {
      const int t0_pictures = (info.tl0_pic_idx - last.tl0) & 0xFF;
      between_skipped = t0_pictures == (info.temporal_id == 0 ? 1 : 0);
    }
    if (between_skipped && d <= kMaxPictureGap && (last.marker || last.skipped) &&
        (info.frame_start || skipped) && !(d == 0 && !skipped)) {
      for (int k = 1; k < newer; ++k)
        sub.rewriter.skip(layer.ssrc, static_cast<std::uint16_t>(last.seq + k));
      // Whole pictures lost between them: the munger closes their ids up as well.
      if (d > 1 && layer.codec == rtc::video::Codec::kVp8) {
        const rtc::video::Vp8Descriptor desc = rtc::video::parse_vp8(pkt.payload());
        const int bits = desc.valid && !desc.picture_id_15bit ? 7 : 15;
        for (int k = 1; k < d; ++k)
          sub.vp8.munge((last.picture_id + k) & ((1 << bits) - 1), last.tl0, true, bits);
      }
    }
  }
  last = {true, seq, skipped, pkt.marker(), info.picture_id, info.tl0_pic_idx};
}

bool Room::munge_vp8(Subscription& sub, const Track& layer, const rtc::RtpPacket& pkt,
                     bool dropped) {
  sub.out_picture_id = -1;
  sub.out_tl0_pic_idx = -1;
  if (layer.codec != rtc::video::Codec::kVp8) return true;
  rtc::video::Vp8Descriptor d = rtc::video::parse_vp8(pkt.payload());
  if (!d.valid || (d.picture_id < 0 && d.tl0_pic_idx < 0)) return true;
  auto r = sub.vp8.munge(d.picture_id, d.tl0_pic_idx, dropped, d.picture_id_15bit ? 15 : 7);
  if (!r.forward) return false;
  sub.out_picture_id = r.picture_id;
  sub.out_tl0_pic_idx = r.tl0_pic_idx;
  return true;
}

void Room::unpublish(ParticipantId owner, const PublishedTrack& spec) {
  if (spec.kind != MediaKind::kVideo || spec.rids.empty()) return unpublish(spec.ssrc);
  Participant* p = participant(owner);
  if (!p) return;
  std::erase_if(p->tracks, [&](const auto& t) { return !t->layers.empty() && t->mid == spec.mid; });
  reindex();
}

Track* Room::bind_layer(Participant& from, const rtc::RtpPacket& pkt) {
  if (from.ext.rid == 0 && from.ext.repaired_rid == 0) return nullptr;
  auto rid = rtc::rid(pkt, from.ext);
  bool repair = false;
  if (!rid) {
    rid = rtc::repaired_rid(pkt, from.ext);
    repair = true;
  }
  if (!rid || rid->empty()) return nullptr;
  auto mid = rtc::mid(pkt, from.ext);
  for (auto& t : from.tracks) {
    if (t->layers.empty() || (mid && *mid != t->mid)) continue;
    for (auto& l : t->layers) {
      if (l->rid != *rid) continue;
      std::uint32_t& slot = repair ? l->rtx_ssrc : l->ssrc;
      // A layer keeps its first SSRC (a new one would be a restarted encoder: renegotiated).
      if (slot != 0) return nullptr;
      if (repair && l->rtx_payload_type == 0) return nullptr;
      slot = pkt.ssrc();
      tracks_by_ssrc_.emplace(pkt.ssrc(), l.get());
      return l.get();
    }
  }
  return nullptr;
}

void Room::unpublish(std::uint32_t ssrc) {
  if (Track* t = track_by_ssrc(ssrc)) {
    while (!t->slot_feeds.empty()) bind(*t->slot_feeds.back(), nullptr);
    slots_dirty_ = true;
  }
  for (auto& p : participants_) {
    std::erase_if(p->tracks, [&](const auto& t) { return t->ssrc == ssrc && t->layers.empty(); });
    if (!audio_track(p->id)) selector_.remove(p->id);
  }
  reindex();
}

Track* Room::track_by_ssrc(std::uint32_t ssrc) {
  auto it = tracks_by_ssrc_.find(ssrc);
  return it == tracks_by_ssrc_.end() ? nullptr : it->second;
}

namespace {
// The subscriber's codec entry for a track's codec; nullptr when it accepted none. A
// subscriber that declared no video codecs (room tests, bench) takes the publisher's.
const ReceiveCodec* receive_codec(const Participant& s, const Track& t, ReceiveCodec& scratch) {
  if (s.video_codecs.empty()) {
    scratch = {t.codec_name, t.payload_type, t.rtx_payload_type};
    return &scratch;
  }
  for (const auto& c : s.video_codecs) {
    if (c.name.size() != t.codec_name.size()) continue;
    bool same = std::equal(c.name.begin(), c.name.end(), t.codec_name.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) ==
             std::tolower(static_cast<unsigned char>(b));
    });
    if (same) return &c;
  }
  return nullptr;
}
}  // namespace

bool Room::can_receive(ParticipantId subscriber, const Track& track) {
  Participant* s = participant(subscriber);
  if (!s) return false;
  if (track.kind == MediaKind::kAudio) return true;
  ReceiveCodec scratch;
  return receive_codec(*s, track, scratch) != nullptr;
}

Subscription* Room::subscribe(ParticipantId subscriber, Track& track, std::uint32_t out_ssrc,
                              std::uint16_t initial_seq, std::uint32_t initial_ts,
                              std::uint32_t rtx_ssrc) {
  Participant* s = participant(subscriber);
  if (!s || track.owner == s) return nullptr;
  for (auto& existing : track.subscriptions)
    if (existing->subscriber == s) return existing.get();
  std::uint8_t pt = s->audio_payload_type;
  std::uint8_t rtx_pt = 0;
  if (track.kind == MediaKind::kVideo) {
    ReceiveCodec scratch;
    const ReceiveCodec* rc = receive_codec(*s, track, scratch);
    if (!rc) return nullptr;
    pt = rc->payload_type;
    rtx_pt = rc->rtx_payload_type;
  }
  auto sub = std::make_unique<Subscription>(Subscription{
      s, &track, RtpRewriter(out_ssrc, track.clock_rate, initial_seq, initial_ts), pt, {}, -1});
  if (track.kind == MediaKind::kVideo) {
    sub->waiting_keyframe = true;
    if (rtx_pt != 0 && rtx_ssrc != 0) {
      sub->rtx_ssrc = rtx_ssrc;
      sub->out_rtx_payload_type = rtx_pt;
      sub->rtx_seq = initial_seq ^ 0x5a5a;
    }
  }
  // A simulcast subscription gets its layer from the next allocation (the next tick).
  if (!track.layers.empty()) next_allocate_ms_ = 0;
  track.subscriptions.push_back(std::move(sub));
  Subscription* added = track.subscriptions.back().get();
  subs_by_ssrc_.try_emplace({subscriber, out_ssrc}, added);
  return added;
}

bool Room::unsubscribe(ParticipantId subscriber, ParticipantId publisher) {
  Participant* pub = participant(publisher);
  if (!pub) return false;
  bool any = false;
  for (auto& t : pub->tracks)
    any |= std::erase_if(t->subscriptions,
                         [&](const auto& s) { return s->subscriber->id == subscriber; }) > 0;
  if (any) reindex();
  return any;
}

Subscription* Room::subscription(ParticipantId subscriber, std::uint32_t out_ssrc) {
  auto it = subs_by_ssrc_.find({subscriber, out_ssrc});
  return it == subs_by_ssrc_.end() ? nullptr : it->second;
}

bool Room::is_subscribed(ParticipantId subscriber, const Track& track) const {
  return std::any_of(track.subscriptions.begin(), track.subscriptions.end(),
                     [&](const auto& s) { return s->subscriber->id == subscriber; });
}

void Room::set_server_mute(ParticipantId id, bool muted) {
  if (Participant* p = participant(id)) p->server_muted = muted;
}

void Room::on_rtp(Participant& from, const rtc::RtpPacket& pkt, const rtc::PacketExtensions& ext,
                  std::int64_t now_us, ForwardSink& sink) {
  route_rtp(from, pkt, ext, now_us, sink);
}

void Room::on_rtp(Participant& from, const rtc::RtpPacket& pkt, const rtc::PacketExtensions& ext,
                  std::int64_t now_us) {
  route_rtp(from, pkt, ext, now_us, endpoints_);
}

template <class Sink>
void Room::route_rtp(Participant& from, const rtc::RtpPacket& received,
                     const rtc::PacketExtensions& ext, std::int64_t now_us, Sink& sink) {
  ++counters_.rtp_in;
  std::int64_t now_ms = now_us / 1000;
  Track* track = track_by_ssrc(received.ssrc());
  if (track && (track->owner != &from || track->ssrc != received.ssrc())) track = nullptr;
  if (!track) {
    ++counters_.dropped_unknown_ssrc;
    return;
  }
  if (from.server_muted) {
    ++counters_.dropped_muted;
    bump(node_.dropped_muted);
    return;
  }
  // Audio without payload: padding only, the bandwidth probes Chromium's pacer sends on the
  // audio SSRC (in the payload type it sent last: RED's when it sends RED). No audio, but it
  // takes a sequence number: dropping it leaves a hole the subscribers count as lost and NACK.
  // It goes on like any audio packet, cut to one padding byte in the track's Opus type.
  std::optional<rtc::RtpPacket> padding;
  if (track->kind == MediaKind::kAudio && received.payload().empty()) {
    padding = plain_copy(received, {}, *track, padding_);
    if (!padding) return;  // never: a fixed header, its CSRCs and one byte fit in padding_
    ++counters_.audio_padding;
    bump(node_.audio_padding);
  }
  const rtc::RtpPacket& pkt = padding ? *padding : received;
  rtc::video::PayloadInfo info;
  const bool red = track->red_payload_type != 0 && pkt.payload_type() == track->red_payload_type;
  rtc::RedPayload red_blocks;
  if (track->kind == MediaKind::kAudio) {
    if (track->nacked) track->nack.on_packet(pkt.sequence_number(), now_ms);
    // A retransmission, or the original of a packet already rebuilt from RED.
    if (!track->cache.find(pkt.sequence_number(), now_ms, 2000).empty()) {
      ++counters_.dropped_duplicate_audio;
      bump(node_.dropped_duplicate_audio);
      return;
    }
    if (red && (rtc::parse_red(pkt.payload(), red_blocks) != rtc::RedParseStatus::kOk ||
                red_blocks.primary().payload_type != track->payload_type)) {
      ++counters_.dropped_red;
      bump(node_.dropped_red);
      return;
    }
  } else {
    // A packet the SFU already has (an RTX probe repeating old media, a duplicate) or one
    // without payload (padding) goes nowhere.
    if (pkt.payload().empty() || !track->cache.find(pkt.sequence_number(), now_ms, 2000).empty()) {
      ++counters_.dropped_duplicate;
      return;
    }
    track->nack.on_packet(pkt.sequence_number(), now_ms);
    info = rtc::video::inspect(track->codec, pkt.payload());
  }
  track->stats.on_packet(pkt.sequence_number(), pkt.timestamp(), now_us);
  track->cache.store(pkt.sequence_number(), pkt.bytes(), now_ms);
  // A simulcast layer: its group holds the subscriptions, each taking one layer at a time.
  Track* const group = track->group;
  if (group) track->note_bytes(pkt.size(), now_ms, info.temporal_id, info.frame_start);
  if (track->kind == MediaKind::kAudio) {
    if (ext.audio_level && track->source == TrackSource::kMic)
      speakers_.on_level(from.id, ext.audio_level->level_dbov, now_ms);
  }
  // What subscribers that did not accept RED get of a RED packet: its primary Opus frame
  // (none when it is empty), after what the SFU lost just before it, rebuilt from it.
  std::optional<rtc::RtpPacket> plain;
  if (red) {
    bool any_plain = false;
    for (auto& sub : track->subscriptions)
      any_plain |= sub->subscriber->audio_red_payload_type == 0;
    for (Subscription* sub : track->slot_feeds)
      any_plain |= sub->subscriber->audio_red_payload_type == 0;
    if (any_plain) {
      recover_from_red(*track, pkt, red_blocks, now_ms, sink);
      if (!red_blocks.primary().data.empty())
        plain = plain_copy(pkt, red_blocks.primary().data, *track, plain_);
    }
  }
  if (track->kind == MediaKind::kAudio &&
      (!track->have_seq ||
       static_cast<std::int16_t>(pkt.sequence_number() - track->highest_seq) > 0)) {
    track->have_seq = true;
    track->highest_seq = pkt.sequence_number();
  }
  auto forward_to = [&](Subscription& sub) {
    const rtc::RtpPacket* out_pkt = &pkt;
    if (red && sub.subscriber->audio_red_payload_type == 0) {
      if (!plain) return;
      out_pkt = &*plain;
      ++counters_.red_unwrapped;
      bump(node_.red_unwrapped);
    }
    if (group && sub.source != track) {
      // Not its layer now; the target layer takes over at the start of its keyframe, the
      // current one flowing until then. The rewriter continues sequence numbers and clock.
      if (sub.target_layer != track->layer || !info.keyframe) {
        ++counters_.dropped_other_layer;
        return;
      }
      if (sub.source) {
        ++counters_.layer_switches;
        bump(node_.layer_switches);
      }
      sub.source = track;
      sub.last_in = {};
      sub.step_change_count = 0;
      sub.target_temporal = sub.next_temporal;
      sub.waiting_keyframe = false;
      sub.rewriter.detach();
      sub.vp8.on_source_change();
    }
    if (sub.waiting_keyframe) {
      if (!info.keyframe) {
        ++counters_.dropped_before_keyframe;
        return;
      }
      sub.waiting_keyframe = false;
    }
    bool late = false;
    if (group) {
      const bool in_order = !sub.last_in.valid ||
                            static_cast<std::int16_t>(pkt.sequence_number() - sub.last_in.seq) > 0;
      if (in_order) {
        const int step_before = sub.temporal;
        const bool take = takes_temporal(sub, info);
        if (sub.temporal != step_before)
          spdlog::debug(
              "sfu: room {} viewer {} stream of {}: layer {} step {} -> {} at a T{} frame{}{}", id_,
              sub.subscriber->id, from.id, track->layer, step_before, sub.temporal,
              info.temporal_id, info.layer_sync ? " (layer sync)" : "",
              info.keyframe ? " (keyframe)" : "");
        skip_lost_between(sub, *track, pkt, info, !take);
        // The munger first: a packet it cannot map must not take a sequence number.
        if (!munge_vp8(sub, *track, pkt, !take) || !take) {
          // Above the viewer's temporal layer (or a picture that cannot go out): the numbers
          // after it close up.
          sub.rewriter.skip(track->ssrc, pkt.sequence_number());
          ++(take ? counters_.dropped_stale : counters_.dropped_temporal);
          return;
        }
      } else {
        // A late packet (a retransmission, a reordered one): its number was passed already,
        // under the step in force then; it goes out only if that step took its layer (below,
        // once it is mapped). It moves nothing: not the step, not the munger.
        if (!munge_vp8(sub, *track, pkt)) {
          ++counters_.dropped_stale;
          return;
        }
        late = true;
      }
    }
    auto out = sub.rewriter.rewrite(track->ssrc, pkt.sequence_number(), pkt.timestamp(), now_ms);
    if (!out) {
      ++counters_.dropped_stale;
      return;
    }
    if (late) {
      const int step = sub.step_at(out->seq);
      if (info.temporal_id >= 0 &&
          (step == Subscription::kTemporalNone || (step >= 0 && info.temporal_id > step))) {
        ++counters_.dropped_temporal;
        return;
      }
    }
    sink.forward(sub, *out_pkt, ext, out->seq, out->ts);
    ++counters_.forwarded_packets;
    counters_.forwarded_bytes += out_pkt->size();
  };
  for (auto& sub : (group ? group : track)->subscriptions) forward_to(*sub);  // per-publisher
  for (Subscription* sub : track->slot_feeds) forward_to(*sub);               // last-N audio slots
  if (track->kind == MediaKind::kAudio && track->slot_feeds.empty() &&
      track->subscriptions.empty() && participants_.size() > 1) {
    ++counters_.dropped_not_selected;
    bump(node_.dropped_not_selected);
  }
}

std::optional<rtc::RtpPacket> Room::plain_copy(const rtc::RtpPacket& pkt, rtc::ByteSpan payload,
                                               const Track& track, std::span<std::uint8_t> buf) {
  const std::size_t fixed = rtc::kRtpFixedHeaderSize + 4u * pkt.csrc_count();
  // An empty payload goes out as one padding byte (the padding count, RFC 3550 5.1).
  const std::size_t body = payload.empty() ? 1 : payload.size();
  if (fixed + body > buf.size()) return std::nullopt;
  std::memcpy(buf.data(), pkt.bytes().data(), fixed);
  buf[0] &= static_cast<std::uint8_t>(~0x30);  // no padding, no extension block
  if (payload.empty()) {
    buf[0] |= 0x20;
    buf[fixed] = 1;
  } else {
    std::memcpy(buf.data() + fixed, payload.data(), payload.size());
  }
  rtc::RtpPacket out;
  if (rtc::RtpPacket::parse(buf.first(fixed + body), out) != rtc::RtpParseStatus::kOk)
    return std::nullopt;
  out.set_payload_type(track.payload_type);
  return out;
}

template <class Sink>
void Room::recover_from_red(Track& track, const rtc::RtpPacket& pkt, const rtc::RedPayload& red,
                            std::int64_t now_ms, Sink& sink) {
  if (!track.have_seq || red.count < 2) return;
  const auto gap = static_cast<std::int16_t>(pkt.sequence_number() - track.highest_seq);
  if (gap < 2) return;
  // Block count-1-j is the frame sent j packets before this one (the order Chromium's RED
  // encoder and NetEq's splitter agree on). Oldest first, so the rewriters see them in order.
  const std::size_t covered =
      std::min<std::size_t>(static_cast<std::size_t>(gap) - 1, red.count - 1);
  for (std::size_t j = covered; j >= 1; --j) {
    const rtc::RedBlock& b = red.blocks[red.count - 1 - j];
    if (b.payload_type != track.payload_type || b.data.empty() || b.timestamp_offset == 0) continue;
    std::optional<rtc::RtpPacket> lost = plain_copy(pkt, b.data, track, recovered_);
    if (!lost) continue;
    const auto seq = static_cast<std::uint16_t>(pkt.sequence_number() - j);
    lost->set_sequence_number(seq);
    lost->set_timestamp(pkt.timestamp() - b.timestamp_offset);
    lost->set_marker(false);
    track.cache.store(seq, lost->bytes(), now_ms);
    if (track.nacked) track.nack.on_packet(seq, now_ms);  // no need to ask for it
    ++counters_.red_recovered;
    bump(node_.red_recovered);
    const rtc::PacketExtensions none;
    auto send = [&](Subscription& sub) {
      if (sub.subscriber->audio_red_payload_type != 0) return;  // it recovers it itself
      auto out = sub.rewriter.rewrite(track.ssrc, seq, lost->timestamp(), now_ms);
      if (!out) return;
      sink.forward(sub, *lost, none, out->seq, out->ts);
      ++counters_.forwarded_packets;
      counters_.forwarded_bytes += lost->size();
    };
    for (auto& sub : track.subscriptions) send(*sub);
    for (Subscription* sub : track.slot_feeds) send(*sub);
  }
}

std::size_t Room::on_nack(ParticipantId subscriber, std::uint32_t out_ssrc,
                          std::span<const std::uint16_t> out_seqs, std::int64_t now_ms,
                          ForwardSink& sink) {
  counters_.nacks += out_seqs.size();
  bump(node_.nacks, out_seqs.size());
  Subscription* sub = subscription(subscriber, out_ssrc);
  if (!sub || !sub->track) return 0;
  std::size_t hits = 0;
  for (std::uint16_t out_seq : out_seqs) {
    if (resend(*sub, out_seq, now_ms, sink) == 0) continue;
    if (sub->rtx_ssrc) {
      ++counters_.rtx_sent;
      bump(node_.rtx_sent);
    }
    ++hits;
  }
  counters_.nack_hits += hits;
  bump(node_.nack_hits, hits);
  return hits;
}

std::size_t Room::resend(Subscription& sub, std::uint16_t out_seq, std::int64_t now_ms,
                         ForwardSink& sink, bool probe) {
  // The layer it forwards now (the rewriter maps only the current source's numbers).
  Track& from = *sub.current();
  auto src = sub.rewriter.source_seq(out_seq);
  if (!src) return 0;
  rtc::ByteSpan cached = from.cache.find(*src, now_ms, kNackMaxAgeMs);
  if (cached.size() < rtc::kRtpFixedHeaderSize || cached.size() > resend_.size()) return 0;
  std::memcpy(resend_.data(), cached.data(), cached.size());
  rtc::RtpPacket pkt;
  rtc::PacketExtensions ext;
  if (rtc::RtpPacket::parse(rtc::MutableByteSpan(resend_.data(), cached.size()), pkt) !=
          rtc::RtpParseStatus::kOk ||
      rtc::index_extensions(pkt, from.owner->ext, ext) != rtc::ExtensionStatus::kOk)
    return 0;
  // A RED packet goes to a subscriber without RED as its primary, as it did the first time.
  std::optional<rtc::RtpPacket> plain;
  if (from.red_payload_type != 0 && pkt.payload_type() == from.red_payload_type &&
      sub.subscriber->audio_red_payload_type == 0) {
    rtc::RedPayload red;
    if (rtc::parse_red(pkt.payload(), red) != rtc::RedParseStatus::kOk ||
        red.primary().data.empty())
      return 0;
    plain = plain_copy(pkt, red.primary().data, from, plain_);
    if (!plain) return 0;
    pkt = *plain;
  }
  if (from.group) {
    const rtc::video::PayloadInfo info = rtc::video::inspect(from.codec, pkt.payload());
    // The step the number was sent under: the one before the last change for numbers up to it.
    const int step = sub.step_at(out_seq);
    const bool above =
        step == Subscription::kTemporalNone || (step >= 0 && info.temporal_id > step);
    if (above && probe) return 0;  // a probe repeats media the viewer got; not this
    if (above) {
      // A packet of a picture above the viewer's temporal layer under a number it is missing
      // (lost upstream where the SFU could not tell it was in a skipped picture): padding
      // fills the number; the picture itself would reference frames the viewer never got.
      plain = plain_copy(pkt, {}, from, plain_);
      if (!plain) return 0;
      pkt = *plain;
      sub.out_picture_id = -1;
      sub.out_tl0_pic_idx = -1;
      ++counters_.padding_for_skipped;
    } else if (!munge_vp8(sub, from, pkt)) {
      return 0;
    }
  }
  // The same numbers as when it was first sent (with a fresh transport-wide sequence
  // number, which every packet put on the wire gets); as RTX where the subscriber takes it.
  if (sub.rtx_ssrc) {
    sink.forward_rtx(sub, pkt, ext, out_seq, sub.rewriter.out_ts(pkt.timestamp()));
  } else {
    sink.forward(sub, pkt, ext, out_seq, sub.rewriter.out_ts(pkt.timestamp()));
  }
  return pkt.size();
}

Subscription* Room::probe_subscription(ParticipantId viewer) {
  for (auto& p : participants_)
    for (auto& t : p->tracks) {
      if (t->kind != MediaKind::kVideo) continue;
      for (auto& s : t->subscriptions)
        if (s->subscriber->id == viewer && s->rtx_ssrc != 0 && s->rewriter.has_source())
          return s.get();
    }
  return nullptr;
}

std::size_t Room::send_probe(ParticipantId viewer, std::size_t min_bytes, int min_packets,
                             std::int64_t now_ms, ForwardSink& sink) {
  Subscription* sub = probe_subscription(viewer);
  if (!sub) return 0;
  // Its most recent packets again, newest first, as often as needed (the viewer drops the
  // duplicates after its jitter buffer has them): full-size padding with no new media.
  constexpr int kWindow = 32;
  constexpr int kMaxPackets = 200;
  std::size_t bytes = 0;
  int packets = 0;
  int misses = 0;
  for (int k = 0; packets < kMaxPackets && (bytes < min_bytes || packets < min_packets); ++k) {
    auto out_seq = static_cast<std::uint16_t>(sub->rewriter.last_out_seq() - (k % kWindow));
    std::size_t n = resend(*sub, out_seq, now_ms, sink, true);
    if (n == 0) {
      if (++misses >= kWindow) break;  // nothing cached to probe with
      continue;
    }
    bytes += n;
    ++packets;
  }
  return bytes;
}

bool Room::on_keyframe_request(ParticipantId subscriber, std::uint32_t out_ssrc,
                               std::int64_t now_ms, ForwardSink& sink) {
  ++counters_.plis;
  bump(node_.plis);
  Subscription* sub = subscription(subscriber, out_ssrc);
  if (!sub || !sub->track) return false;
  // Simulcast: the layer it is switching to if a switch waits, else the one it forwards.
  Track* t = sub->current();
  if (!sub->track->layers.empty() && sub->target_layer >= 0 &&
      (!sub->source || sub->source->layer != sub->target_layer) &&
      static_cast<std::size_t>(sub->target_layer) < sub->track->layers.size())
    t = sub->track->layers[static_cast<std::size_t>(sub->target_layer)].get();
  if (t->ssrc == 0) return false;
  if (!t->pli.allow(now_ms)) {
    // One keyframe answers every viewer: the held-back request goes out when due.
    t->keyframe_pending = true;
    return false;
  }
  t->keyframe_pending = false;
  sink.request_keyframe(*t);
  ++counters_.plis_forwarded;
  ++counters_.keyframe_requests;
  bump(node_.keyframe_requests);
  return true;
}

void Room::request_keyframe(Track& track, std::int64_t now_ms, ForwardSink& sink) {
  if (!track.layers.empty()) {
    // A simulcast group: the layers some subscription waits to start or switch to.
    for (auto& l : track.layers) {
      bool wanted = std::any_of(
          track.subscriptions.begin(), track.subscriptions.end(),
          [&](const auto& sub) { return sub->target_layer == l->layer && sub->source != l.get(); });
      if (wanted && l->ssrc != 0) request_keyframe(*l, now_ms, sink);
    }
    return;
  }
  if (track.ssrc == 0) return;
  if (!track.pli.allow(now_ms)) {
    track.keyframe_pending = true;
    return;
  }
  track.keyframe_pending = false;
  sink.request_keyframe(track);
  ++counters_.keyframe_requests;
  bump(node_.keyframe_requests);
}

void Room::on_tick(std::int64_t now_ms, ForwardSink& sink) {
  for (auto& p : participants_)
    for_each_stream(*p, [&](Track& t) {
      if (t.keyframe_pending && t.pli.due(now_ms)) request_keyframe(t, now_ms, sink);
    });
  if (now_ms >= next_allocate_ms_) {
    next_allocate_ms_ = now_ms + kAllocateIntervalMs;
    allocate_layers(now_ms, sink);
    update_running_layers(now_ms);
  }
}

void Room::allocate_layers(std::int64_t now_ms, ForwardSink& sink) {
  // Every 500 ms at trace level: each watcher's estimate (bench/video/adapt.mjs plots it).
  const bool trace = now_ms >= next_trace_ms_ && spdlog::should_log(spdlog::level::trace);
  if (trace) next_trace_ms_ = now_ms + 500;
  constexpr std::size_t kMaxLayers = 4;
  constexpr std::size_t kMaxWatched = 16;
  std::array<std::array<LayerRate, kMaxLayers>, kMaxWatched> rates{};
  std::array<StreamDemand, kMaxWatched> demands{};
  std::array<Subscription*, kMaxWatched> subs{};
  std::array<LayerChoice, kMaxWatched> targets{};
  for (auto& viewer : participants_) {
    const std::uint64_t budget = viewer->endpoint ? viewer->endpoint->downlink_estimate_bps() : 0;
    std::size_t n = 0;
    // The video gets what the stream audio it also receives leaves (the estimate covers
    // every packet on its transport).
    std::uint64_t audio_bps = 0;
    for (auto& p : participants_) {
      for (auto& t : p->tracks) {
        if (t->kind == MediaKind::kAudio && t->source == TrackSource::kScreen) {
          for (auto& sub : t->subscriptions)
            if (sub->subscriber == viewer.get()) audio_bps += kAudioHeadroomBps;
          continue;
        }
        if (t->layers.empty() || n == kMaxWatched) continue;
        for (auto& sub : t->subscriptions) {
          if (sub->subscriber != viewer.get()) continue;
          const std::size_t k = std::min(t->layers.size(), kMaxLayers);
          const int have = sub->source ? sub->source->layer : -1;
          // An up-switch that lasted: the hold is back to its base.
          if (sub->last_switch_up && now_ms - sub->last_switch_ms >= kUpSwitchHoldMs)
            sub->up_hold_ms = kUpSwitchHoldMs;
          // An up-switch held (sfu::may_switch_up) leaves it the layers up to the one it is
          // switching to, and those that came alive since its last switch: a layer back
          // from a pause the room asked for is a new option, not a noisy estimate (else a ramp
          // q -> h -> f, each layer resumed in turn, would wait out the hold at h), as is one
          // the publisher's encoder added as its uplink ramped up.
          const bool may_up = have < 0 || may_switch_up(now_ms, sub->last_switch_ms, budget,
                                                        sub->switch_budget_bps, sub->up_hold_ms);
          std::uint32_t allowed = ~0u;
          for (std::size_t i = 0; i < k; ++i) {
            const Track& l = *t->layers[i];
            // A layer paused at the publisher is not picked, however recently it sent.
            const bool live = l.live() && t->layer_running(l);
            LayerRate& r = rates[n][i];
            r = {live ? l.rate_bps : 0, live, live ? l.temporal_layers : 0, {}, {}};
            std::uint64_t bps = 0;
            double fps = 0;
            for (std::size_t tid = 0; tid < kMaxTemporalLayers && live; ++tid) {
              r.temporal_bps[tid] = bps += l.rate_bps_tid[tid];
              r.temporal_fps[tid] = fps += l.fps_tid[tid];
            }
            const int li = static_cast<int>(i);
            if (!may_up && li > have && li > sub->target_layer &&
                l.live_since_ms <= sub->last_switch_ms)
              allowed &= ~(1u << i);
          }
          demands[n] = {t->source == TrackSource::kScreen ? 1 : 0,
                        std::span<const LayerRate>(rates[n].data(), k), have, sub->temporal,
                        allowed};
          subs[n++] = sub.get();
          break;
        }
      }
    }
    if (viewer->endpoint) {
      // What probing may look for: twice what its streams could use (each at its top live
      // layer), so an estimate can double past a layer (the up-switch hold's escape, and the
      // layers' rates vary with the picture), plus room for stream audio.
      std::uint64_t cap = 0;
      for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t top = 0;
        for (const auto& l : demands[i].layers)
          if (l.live) top = std::max(top, l.bps);
        cap += 2 * top + kAudioHeadroomBps;
      }
      viewer->endpoint->set_allocation_cap(cap);
    }
    if (n == 0) continue;
    if (trace) spdlog::trace("sfu: room {} viewer {} estimate {} bps", id_, viewer->id, budget);
    const std::uint64_t video_budget =
        budget == 0 ? 0 : std::max(budget > audio_bps ? budget - audio_bps : 0, budget / 2);
    sfu::allocate_layers(video_budget, std::span(demands.data(), n), std::span(targets.data(), n));
    for (std::size_t i = 0; i < n; ++i) {
      Subscription& sub = *subs[i];
      const LayerChoice want = targets[i];
      if (want.spatial < 0) continue;  // no live layer: keep what it has
      const int have = demands[i].current;
      if (have >= 0 && want.spatial != have && want.spatial != sub.target_layer) {
        const bool up = want.spatial > have;
        if (!up && sub.last_switch_up && now_ms - sub.last_switch_ms < kFailedUpMs)
          sub.up_hold_ms = std::min(2 * sub.up_hold_ms, kMaxUpSwitchHoldMs);
        sub.last_switch_ms = now_ms;
        sub.switch_budget_bps = budget;
        sub.last_switch_up = up;
      }
      if ((want.spatial != sub.target_layer || want.temporal != sub.next_temporal) &&
          spdlog::should_log(spdlog::level::debug)) {
        const auto& ls = demands[i].layers;
        spdlog::debug(
            "sfu: room {} viewer {} stream of {}: layer {} -> {} temporal {} -> {} (estimate {} "
            "bps; layers {}/{}/{} bps)",
            id_, viewer->id, sub.track->owner->id, have, want.spatial, sub.next_temporal,
            want.temporal, budget, !ls.empty() ? ls[0].bps : 0, ls.size() > 1 ? ls[1].bps : 0,
            ls.size() > 2 ? ls[2].bps : 0);
      }
      sub.target_layer = want.spatial;
      sub.next_temporal = want.temporal;
      if (have < 0 || want.spatial == have) {
        sub.target_temporal = want.temporal;
        // Back from forwarding nothing of this layer (a down-switch given up): it starts
        // over at a keyframe.
        if (sub.temporal == Subscription::kTemporalNone && sub.source && sub.source->ssrc != 0)
          request_keyframe(*sub.source, now_ms, sink);
      } else if (want.spatial < have) {
        const LayerRate& old = demands[i].layers[static_cast<std::size_t>(have)];
        const int lowest = lowest_temporal_step(old);
        const std::uint64_t lowest_bps = step_bps(old, lowest);
        sub.target_temporal =
            budget != 0 && static_cast<double>(lowest_bps) >
                               Subscription::kCutOldLayerFactor * static_cast<double>(budget)
                ? Subscription::kTemporalNone
                : lowest;
      }
      // Going up: the layer it has, whole, until the switch (the budget holds more than it).
      else
        sub.target_temporal = -1;
      if (want.spatial != have) {
        Track& layer = *sub.track->layers[static_cast<std::size_t>(want.spatial)];
        if (layer.ssrc != 0) request_keyframe(layer, now_ms, sink);
      }
    }
  }
}

void Room::update_running_layers(std::int64_t now_ms) {
  for (auto& p : participants_) {
    for (auto& t : p->tracks) {
      if (!t->pauser) continue;
      // Each watcher's demand: the highest layer it forwards or targets; every layer when its
      // estimate is unknown (it is forwarded the highest live one).
      int highest = -1;
      for (auto& sub : t->subscriptions) {
        const Endpoint* e = sub->subscriber->endpoint;
        int d = !e || e->downlink_estimate_bps() == 0
                    ? kDemandTop
                    : std::max(sub->source ? sub->source->layer : -1, sub->target_layer);
        highest = std::max(highest, d);
      }
      const std::uint32_t wanted = wanted_layers(
          t->layers.size(),
          t->subscriptions.empty() ? std::span<const int>() : std::span<const int>(&highest, 1));
      const std::uint32_t before = t->pauser->running();
      if (!t->pauser->update(wanted, now_ms)) continue;
      const std::uint32_t after = t->pauser->running();
      LayerChange change{p->id, t->mid, {}};
      for (auto& l : t->layers) {
        const std::uint32_t bit = 1u << static_cast<unsigned>(l->layer);
        if ((after & bit) && !(before & bit)) {
          ++counters_.layer_resumes;
          bump(node_.layer_resumes);
        } else if (!(after & bit) && (before & bit)) {
          ++counters_.layer_pauses;
          bump(node_.layer_pauses);
        }
        change.active.emplace_back(l->rid, (after & bit) != 0);
      }
      layer_changes_.push_back(std::move(change));
    }
  }
}

void Room::take_layer_changes(std::vector<LayerChange>& out) {
  for (auto& c : layer_changes_) out.push_back(std::move(c));
  layer_changes_.clear();
}

std::size_t Room::wanted_slots(ParticipantId id) const {
  // Voice members only: a stream connection neither gets slots nor counts as someone to hear.
  if (is_stream_participant(id)) return 0;
  std::size_t voice = 0;
  for (const auto& p : participants_) voice += p->stream_only ? 0 : 1;
  std::size_t others = voice == 0 ? 0 : voice - 1;
  return std::min(others, static_cast<std::size_t>(std::max(selector_.options().max_selected, 1)));
}

Subscription* Room::add_slot(ParticipantId subscriber, std::uint32_t out_ssrc,
                             std::uint16_t initial_seq, std::uint32_t initial_ts) {
  Participant* s = participant(subscriber);
  if (!s) return nullptr;
  // The subscriber's own Opus payload type: the slot's m-section is a copy of its answered
  // one, also when it only listens (then it publishes no track to take it from).
  int index = static_cast<int>(s->slots.size());
  auto slot = std::make_unique<Subscription>(
      Subscription{s, nullptr, RtpRewriter(out_ssrc, 48000, initial_seq, initial_ts),
                   s->audio_payload_type, slot_mid(index), index});
  s->slots.push_back(std::move(slot));
  slots_dirty_ = true;
  subs_by_ssrc_[{subscriber, out_ssrc}] = s->slots.back().get();
  return s->slots.back().get();
}

void Room::bind(Subscription& slot, Track* source) {
  if (slot.track == source) return;
  if (slot.track) std::erase(slot.track->slot_feeds, &slot);
  slot.track = source;
  // A new mapping on the next packet, continuing the slot's numbers and clock.
  slot.rewriter.detach();
  if (source) {
    source->slot_feeds.push_back(&slot);
    ++counters_.slot_switches;
    bump(node_.slot_switches);
  }
}

void Room::unbind_slots_of(Participant& p) {
  for (auto& t : p.tracks)
    while (!t->slot_feeds.empty()) bind(*t->slot_feeds.back(), nullptr);
}

Track* Room::audio_track(ParticipantId id) {
  Participant* p = participant(id);
  if (!p) return nullptr;
  for (auto& t : p->tracks)
    if (t->kind == MediaKind::kAudio && t->source == TrackSource::kMic) return t.get();
  return nullptr;
}

Track* Room::selected_track(std::uint64_t id) const {
  for (auto& [pid, t] : selected_tracks_)
    if (pid == id) return t;
  return nullptr;
}

bool Room::assign_slots(Participant& sub) {
  wanted_.clear();
  selector_.forwarded_to(sub.id, wanted_);
  bool changed = false;
  // Keep every slot whose source is still wanted; free the others.
  for (auto& slot : sub.slots) {
    if (!slot->track) continue;
    bool keep = false;
    for (std::uint64_t id : wanted_) keep |= slot->track == selected_track(id);
    if (!keep) {
      bind(*slot, nullptr);
      changed = true;
    }
  }
  // Newly wanted sources take the lowest free slots.
  for (std::uint64_t id : wanted_) {
    Track* t = selected_track(id);
    if (!t) continue;
    bool has = false;
    for (auto& slot : sub.slots) has |= slot->track == t;
    if (has) continue;
    for (auto& slot : sub.slots) {
      if (slot->track) continue;
      bind(*slot, t);
      changed = true;
      break;
    }
  }
  return changed;
}

void Room::update_selection(std::int64_t now_ms, std::vector<ParticipantId>& changed) {
  bool selection_changed = selector_.update(speakers_, now_ms);
  if (!selection_changed && !slots_dirty_) return;
  slots_dirty_ = false;
  // Resolve the selected participants' tracks once, not per subscriber.
  selected_tracks_.clear();
  for (const auto* tier : {&selector_.primary(), &selector_.reserve()})
    for (std::uint64_t id : *tier) selected_tracks_.emplace_back(id, audio_track(id));
  for (auto& p : participants_)
    if (assign_slots(*p)) changed.push_back(p->id);
}

}  // namespace hype::sfu
