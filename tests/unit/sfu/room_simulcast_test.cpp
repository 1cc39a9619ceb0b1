// Simulcast in a Room (issue 15): layer SSRCs learned from the rid / repaired-rid header
// extensions, each viewer forwarded one layer chosen from its downlink estimate, a switch
// that waits for a keyframe of the new layer while the old one keeps flowing, sequence
// numbers continuous across it, the up-switch hysteresis, and NACK / PLI going to the layer
// the viewer is on.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/video/payload.hpp"
#include "sfu/room.hpp"

using namespace hype::sfu;
using hype::rtc::RtpBuilder;
using hype::rtc::RtpPacket;

namespace {

constexpr std::uint8_t kVp8 = 96;
constexpr std::uint8_t kRtx = 97;
constexpr std::uint8_t kExtMid = 4, kExtRid = 10, kExtRepairedRid = 11;
constexpr std::array<std::uint32_t, 3> kLayerSsrc{6000, 6100, 6200};
const std::array<std::string, 3> kRids{"q", "h", "f"};
// Packets per frame of each layer (frames every 33 ms, 130-byte packets): about 31, 125 and
// 312 kbit/s.
constexpr std::array<int, 3> kPacketsPerFrame{1, 4, 10};

class FakeEndpoint final : public Endpoint {
 public:
  struct Sent {
    std::uint32_t ssrc;
    std::uint16_t seq;
    std::uint32_t src_ssrc;
    std::uint16_t src_seq;
    bool rtx;
    int picture_id;  // what the endpoint writes into its copy (-1: unchanged)
    bool frame_start;
    int tid = -1;             // the packet's VP8 temporal layer (-1: none)
    bool sync = false;        // its Y bit
    std::size_t payload = 0;  // payload bytes (0: padding only)
  };
  void send_rtp(const Subscription& sub, const RtpPacket& p, const hype::rtc::PacketExtensions&,
                std::uint16_t seq, std::uint32_t) override {
    const auto info = hype::rtc::video::inspect_vp8(p.payload());
    sent.push_back({sub.rewriter.out_ssrc(), seq, p.ssrc(), p.sequence_number(), false,
                    sub.out_picture_id, !p.payload().empty() && (p.payload()[0] & 0x10) != 0,
                    info.temporal_id, info.layer_sync, p.payload().size()});
  }
  void send_rtx(const Subscription& sub, const RtpPacket& p, const hype::rtc::PacketExtensions&,
                std::uint16_t osn, std::uint32_t) override {
    const auto info = hype::rtc::video::inspect_vp8(p.payload());
    sent.push_back({sub.rtx_ssrc, osn, p.ssrc(), p.sequence_number(), true, sub.out_picture_id,
                    false, info.temporal_id, info.layer_sync, p.payload().size()});
  }
  void request_keyframe(std::uint32_t ssrc) override { keyframes.push_back(ssrc); }
  std::uint64_t downlink_estimate_bps() const override { return estimate; }
  std::vector<Sent> sent;
  std::vector<std::uint32_t> keyframes;
  std::uint64_t estimate = 0;
};

// A VP8 payload with the extended descriptor and a 15-bit picture id (each layer numbers its
// pictures on its own, as an encoder per layer does).
// With tid >= 0 it also carries TL0PICIDX and the temporal layer (L1T3 temporal layers).
// `sync`: the Y bit (the frame references base-layer frames only).
std::vector<std::uint8_t> vp8_payload(bool frame_start, bool keyframe, int picture_id, int tid = -1,
                                      int tl0 = 0, bool sync = false) {
  std::vector<std::uint8_t> p(100, 0xAB);
  p[0] = static_cast<std::uint8_t>(0x80 | (frame_start ? 0x10 : 0x00));  // X, S
  p[1] = tid >= 0 ? 0xE0 : 0x80;                                         // I (L T)
  p[2] = static_cast<std::uint8_t>(0x80 | ((picture_id >> 8) & 0x7F));   // M + 15 bits
  p[3] = static_cast<std::uint8_t>(picture_id & 0xFF);
  std::size_t at = 4;
  if (tid >= 0) {
    p[at++] = static_cast<std::uint8_t>(tl0);
    p[at++] = static_cast<std::uint8_t>(tid << 6 | (sync ? 0x20 : 0));
  }
  p[at] = keyframe ? 0x00 : 0x01;  // VP8 payload header: P bit
  if (keyframe) {
    p[at + 3] = 0x9d;
    p[at + 4] = 0x01;
    p[at + 5] = 0x2a;
  }
  return p;
}

// The temporal layer of the n-th frame of an L1T3 pattern: 0 2 1 2, in cycles of 8 frames as
// libwebrtc's encoder runs it. Only the first T2 and the first T1 of a cycle reference the base
// layer alone (Y = 1); the others also reference the T1 or T2 frames before them.
constexpr std::array<int, 8> kTemporalPattern{0, 2, 1, 2, 0, 2, 1, 2};
constexpr std::array<bool, 8> kTemporalSync{false, true, true, false, false, false, false, false};

struct Fixture {
  SfuCounters node;
  Room room{1, SpeakerOptions{}, 3, &node};
  std::map<ParticipantId, FakeEndpoint> endpoints;
  static constexpr ParticipantId kStreamer = stream_participant(1);
  Track* video = nullptr;
  std::array<std::uint16_t, 3> seq{100, 2000, 30000};
  std::array<std::uint32_t, 3> ts{0, 0, 0};
  std::array<bool, 3> key_next{true, true, true};
  std::array<bool, 3> sending{true, true, true};
  std::array<int, 3> picture_id{100, 5000, 20000};
  std::int64_t now_ms = 0;
  // The publisher obeys the room's pauses and resumes (as the web client does), starting a
  // resumed layer with a keyframe; `changes` keeps every change the room asked for.
  bool obey_layers = false;
  std::vector<LayerChange> changes;
  // The layers' frames carry temporal layers (L1T3, kTemporalPattern; a keyframe starts the
  // pattern over), TL0PICIDX counting T0 frames.
  bool temporal = false;
  std::array<int, 3> pattern_pos{0, 0, 0};
  std::array<int, 3> tl0{0, 0, 0};
  std::set<std::pair<int, std::uint16_t>> lose;  // (layer, sequence number) lost upstream
  std::map<std::pair<int, std::uint16_t>, std::vector<std::uint8_t>> lost;  // ... their bytes
  bool sync_frames = true;  // frames carry the Y bit where kTemporalSync says

  Fixture() {
    auto& p = room.add_participant(kStreamer);
    p.endpoint = &endpoints[kStreamer];
    p.ext.mid = kExtMid;
    p.ext.rid = kExtRid;
    p.ext.repaired_rid = kExtRepairedRid;
    PublishedTrack t;
    t.kind = MediaKind::kVideo;
    t.payload_type = kVp8;
    t.clock_rate = 90000;
    t.mid = "1";
    t.source = TrackSource::kScreen;
    t.codec = "VP8";
    t.rtx_payload_type = kRtx;
    t.rids = {kRids.begin(), kRids.end()};
    video = room.publish(kStreamer, t);
  }
  FakeEndpoint& viewer(ParticipantId id, std::uint32_t out_ssrc) {
    auto& p = room.add_participant(id);
    p.endpoint = &endpoints[id];
    p.video_codecs = {{"VP8", 120, 121}};
    EXPECT_NE(room.subscribe(id, *video, out_ssrc, 10, 20, out_ssrc + 1), nullptr);
    return endpoints[id];
  }
  // One packet of layer `l` as the publisher's transport hands it to the room (binding its
  // SSRC by rid first, as Transport::on_rtp does).
  // `last`: the frame's last packet (marker bit). Packets in `lose` never reach the room.
  void packet(int l, bool frame_start, bool keyframe, std::uint16_t at_seq, bool last = true) {
    std::vector<std::uint8_t> buf(400);
    const auto i = static_cast<std::size_t>(l);
    const auto pos = static_cast<std::size_t>(pattern_pos[i]);
    auto payload = temporal
                       ? vp8_payload(frame_start, keyframe, picture_id[i], kTemporalPattern[pos],
                                     tl0[i], sync_frames && kTemporalSync[pos])
                       : vp8_payload(frame_start, keyframe, picture_id[i]);
    RtpBuilder b(buf, {kVp8, last, at_seq, ts[static_cast<std::size_t>(l)],
                       kLayerSsrc[static_cast<std::size_t>(l)]});
    const std::string& rid = kRids[static_cast<std::size_t>(l)];
    b.add_extension(kExtMid, hype::rtc::as_bytes("1"));
    b.add_extension(kExtRid, hype::rtc::as_bytes(rid));
    b.payload(payload);
    buf.resize(b.finish());
    if (lose.contains({l, at_seq})) {
      lost[{l, at_seq}] = buf;
      return;
    }
    deliver(buf);
  }
  // A packet lost before (in `lose`) arrives now: a late retransmission.
  void redeliver(int l, std::uint16_t at_seq) {
    auto it = lost.find({l, at_seq});
    ASSERT_NE(it, lost.end());
    deliver(it->second);
  }
  void deliver(std::vector<std::uint8_t> buf) {
    RtpPacket p;
    ASSERT_EQ(RtpPacket::parse(buf, p), hype::rtc::RtpParseStatus::kOk);
    Participant& from = *room.participant(kStreamer);
    if (!room.track_by_ssrc(p.ssrc())) room.bind_layer(from, p);
    hype::rtc::PacketExtensions ext;
    room.on_rtp(from, p, ext, now_ms * 1000);
  }
  // One frame on every sending layer (a keyframe where one was asked for), then the room's
  // ticks up to the next frame. Keyframe requests from the room make that layer's next frame
  // a keyframe, as an encoder would.
  // The next frame of layer `l` (a keyframe when `key`), all its packets, no ticks.
  // One frame of the top layer only (no keyframe), then the room's tick.
  void top_frame() {
    layer_frame(2, false);
    now_ms += 33;
    room.on_tick(now_ms);
  }
  void layer_frame(int l, bool key) {
    auto i = static_cast<std::size_t>(l);
    ts[i] += 3000;
    picture_id[i] = (picture_id[i] + 1) & 0x7FFF;
    if (temporal) {
      pattern_pos[i] = key ? 0 : (pattern_pos[i] + 1) % static_cast<int>(kTemporalPattern.size());
      if (kTemporalPattern[static_cast<std::size_t>(pattern_pos[i])] == 0)
        tl0[i] = (tl0[i] + 1) & 0xFF;
    }
    for (int k = 0; k < kPacketsPerFrame[i]; ++k)
      packet(l, k == 0, key && k == 0, seq[i]++, k == kPacketsPerFrame[i] - 1);
  }
  void frame() {
    for (int l = 0; l < 3; ++l) {
      auto i = static_cast<std::size_t>(l);
      if (!sending[i]) continue;
      layer_frame(l, key_next[i]);
      key_next[i] = false;
    }
    for (int t = 0; t < 33; t += 11) {
      now_ms += 11;
      room.on_tick(now_ms);
    }
    auto& pub = endpoints[kStreamer];
    for (std::uint32_t ssrc : pub.keyframes)
      for (std::size_t i = 0; i < 3; ++i)
        if (kLayerSsrc[i] == ssrc) key_next[i] = true;
    pub.keyframes.clear();
    std::size_t seen = changes.size();
    room.take_layer_changes(changes);
    for (std::size_t c = seen; c < changes.size() && obey_layers; ++c) {
      for (std::size_t i = 0; i < changes[c].active.size(); ++i) {
        bool on = changes[c].active[i].second;
        if (on && !sending[i]) key_next[i] = true;
        sending[i] = on;
      }
    }
    check_running();
  }
  // Whatever a subscription forwards or waits to switch to is running at the publisher.
  void check_running() const {
    if (!video) return;
    for (auto& sub : video->subscriptions) {
      if (sub->source) {
        EXPECT_TRUE(video->layer_running(*sub->source)) << "at " << now_ms;
      }
      if (sub->target_layer >= 0) {
        EXPECT_TRUE(video->pauser->running(static_cast<std::size_t>(sub->target_layer)))
            << "at " << now_ms;
      }
    }
  }
  void run_ms(std::int64_t ms) {
    std::int64_t until = now_ms + ms;
    while (now_ms < until) frame();
  }
  int layer_of(std::uint32_t src_ssrc) const {
    for (std::size_t i = 0; i < 3; ++i)
      if (kLayerSsrc[i] == src_ssrc) return static_cast<int>(i);
    return -1;
  }
  // The layers of the last `n` packets a viewer got.
  std::set<int> recent_layers(const FakeEndpoint& e, std::size_t n) const {
    std::set<int> out;
    for (std::size_t i = e.sent.size() > n ? e.sent.size() - n : 0; i < e.sent.size(); ++i)
      out.insert(layer_of(e.sent[i].src_ssrc));
    return out;
  }
};

// Outgoing sequence numbers a viewer saw never skip or repeat (media only), and its VP8
// picture ids go up by one per frame whichever layer the frame came from.
void expect_continuous(const FakeEndpoint& e) {
  const FakeEndpoint::Sent* prev = nullptr;
  int last_pid = -1;
  for (const auto& s : e.sent) {
    if (s.rtx) continue;
    if (prev) {
      ASSERT_EQ(static_cast<std::uint16_t>(prev->seq + 1), s.seq)
          << "after a packet of layer ssrc " << prev->src_ssrc << " came one of " << s.src_ssrc;
    }
    ASSERT_GE(s.picture_id, 0);
    if (last_pid >= 0) {
      ASSERT_EQ(s.picture_id, s.frame_start ? (last_pid + 1) & 0x7FFF : last_pid)
          << "packet of layer ssrc " << s.src_ssrc;
    }
    last_pid = s.picture_id;
    prev = &s;
  }
}

TEST(RoomSimulcast, LayerSsrcsAreLearnedFromTheRidOfTheirFirstPacket) {
  Fixture f;
  ASSERT_NE(f.video, nullptr);
  ASSERT_EQ(f.video->layers.size(), 3u);
  EXPECT_EQ(f.video->ssrc, 0u);
  EXPECT_EQ(f.room.track_by_ssrc(kLayerSsrc[1]), nullptr);
  f.frame();
  for (std::size_t i = 0; i < 3; ++i) {
    Track* l = f.room.track_by_ssrc(kLayerSsrc[i]);
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->group, f.video);
    EXPECT_EQ(l->layer, static_cast<int>(i));
    EXPECT_EQ(l->rid, kRids[i]);
    EXPECT_TRUE(l->live());
  }
  // Another SSRC naming a bound rid is not taken (a layer keeps its first SSRC).
  std::vector<std::uint8_t> buf(200);
  RtpBuilder b(buf, {kVp8, true, 1, 1, 9999});
  b.add_extension(kExtRid, hype::rtc::as_bytes("h"));
  buf.resize(b.finish());
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(buf, p), hype::rtc::RtpParseStatus::kOk);
  EXPECT_EQ(f.room.bind_layer(*f.room.participant(Fixture::kStreamer), p), nullptr);
  EXPECT_EQ(f.room.track_by_ssrc(9999), nullptr);
}

TEST(RoomSimulcast, RepairedRidBindsTheLayersRtxSsrcAndUnknownRidsBindNothing) {
  Fixture f;
  Participant& from = *f.room.participant(Fixture::kStreamer);
  auto make = [](std::uint32_t ssrc, std::uint8_t ext_id, const char* rid,
                 std::vector<std::uint8_t>& buf) {
    RtpBuilder b(buf, {kRtx, false, 1, 1, ssrc});
    b.add_extension(ext_id, hype::rtc::as_bytes(rid));
    buf.resize(b.finish());
    RtpPacket p;
    EXPECT_EQ(RtpPacket::parse(buf, p), hype::rtc::RtpParseStatus::kOk);
    return p;
  };
  std::vector<std::uint8_t> a(200), b(200), c(200);
  EXPECT_EQ(f.room.bind_layer(from, make(7100, kExtRepairedRid, "h", a)), f.video->layers[1].get());
  EXPECT_EQ(f.video->layers[1]->rtx_ssrc, 7100u);
  EXPECT_EQ(f.video->layers[1]->ssrc, 0u);
  EXPECT_EQ(f.room.track_by_ssrc(7100), f.video->layers[1].get());
  EXPECT_EQ(f.room.bind_layer(from, make(7200, kExtRid, "x", b)), nullptr);
  EXPECT_EQ(f.room.bind_layer(from, make(7300, kExtMid, "1", c)), nullptr);  // no rid at all
}

TEST(RoomSimulcast, AViewerWithoutAnEstimateGetsTheHighestLiveLayerOnly) {
  Fixture f;
  auto& v = f.viewer(2, 8000);
  f.run_ms(500);
  ASSERT_FALSE(v.sent.empty());
  EXPECT_EQ(f.recent_layers(v, 50), std::set<int>{2});
  expect_continuous(v);
  // The top layer stops (the publisher's uplink dropped it): the viewer moves to the middle
  // one at its next keyframe, without a gap in its numbers.
  f.sending[2] = false;
  f.run_ms(2000);
  EXPECT_EQ(f.recent_layers(v, 20), std::set<int>{1});
  expect_continuous(v);
  EXPECT_EQ(f.room.counters().layer_switches, 1u);
}

TEST(RoomSimulcast, AStreamThatGoesQuietKeepsItsLayer) {
  // A static screen: the encoder sends nothing (or a frame now and then) on every layer at
  // once. No layer is dead for that, and nobody switches.
  Fixture f;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1200);
  ASSERT_EQ(f.recent_layers(v, 20), std::set<int>{2});
  for (const auto& l : f.video->layers) ASSERT_GT(l->rate_bps, 0u) << "layer " << l->layer;
  f.sending = {false, false, false};
  f.run_ms(3000);
  f.sending = {true, true, true};
  f.frame();
  // Every layer reads the quiet (0) until a window of the resumed stream is in, whichever
  // layer's packet came first.
  for (const auto& l : f.video->layers) EXPECT_EQ(l->rate_bps, 0u) << "layer " << l->layer;
  f.run_ms(500);
  EXPECT_EQ(f.recent_layers(v, 20), std::set<int>{2});
  EXPECT_EQ(f.room.counters().layer_switches, 0u);
  expect_continuous(v);
}

TEST(RoomSimulcast, ALayerBackFromAStopDoesNotReadAsFreeToAViewerItDoesNotFit) {
  // The publisher's encoder stops its top layer for a while (for its own uplink) and brings
  // it back. Its first packets must not read as a layer that costs nothing: a viewer whose
  // estimate fits the middle layer and not the top stays where it is (no keyframe request
  // for the top layer, no switch there and back), while a viewer it fits goes back up.
  Fixture f;
  auto& weak = f.viewer(2, 8000);
  auto& good = f.viewer(3, 8100);
  weak.estimate = 200'000;  // the middle layer (~125k), not the top (~312k)
  good.estimate = 10'000'000;
  f.run_ms(2000);
  ASSERT_EQ(f.recent_layers(weak, 10), std::set<int>{1});
  ASSERT_EQ(f.recent_layers(good, 20), std::set<int>{2});
  f.sending[2] = false;  // the top layer stops: the good viewer moves to the middle one
  f.run_ms(2000);
  ASSERT_EQ(f.recent_layers(good, 10), std::set<int>{1});
  const Subscription* weak_sub = nullptr;
  for (auto& sub : f.video->subscriptions)
    if (sub->subscriber->id == 2) weak_sub = sub.get();
  ASSERT_NE(weak_sub, nullptr);
  const std::uint64_t switches = f.room.counters().layer_switches;
  f.sending[2] = true;  // back, with a keyframe
  f.key_next[2] = true;
  for (int i = 0; i < 45; ++i) {  // 1.5 s, three rate windows
    f.frame();
    ASSERT_NE(weak_sub->target_layer, 2) << "at " << f.now_ms;
  }
  EXPECT_EQ(f.recent_layers(weak, 10), std::set<int>{1});
  EXPECT_EQ(f.recent_layers(good, 20), std::set<int>{2});
  EXPECT_EQ(f.room.counters().layer_switches, switches + 1);  // the good viewer's only
  // A shorter stop (600 ms, inside two rate windows) reads as what the layer sent before it,
  // not as the sliver of a window it sent before stopping.
  const Track& top = *f.video->layers[2];
  const std::uint64_t top_bps = top.rate_bps;
  ASSERT_GT(top_bps, 200'000u);
  // It stops one frame into a rate window, so the window is complete (not empty) when it
  // comes back: one frame of bytes in it.
  for (int i = 0; i < 40 && f.now_ms - top.rate_window_start_ms != 33; ++i) f.frame();
  ASSERT_EQ(f.now_ms - top.rate_window_start_ms, 33);
  f.sending[2] = false;
  f.run_ms(600);
  f.sending[2] = true;
  f.key_next[2] = true;
  for (int i = 0; i < 30; ++i) {  // 1 s
    f.frame();
    ASSERT_GE(top.rate_bps, top_bps / 2) << "at " << f.now_ms;
    ASSERT_NE(weak_sub->target_layer, 2) << "at " << f.now_ms;
  }
  EXPECT_EQ(f.recent_layers(weak, 10), std::set<int>{1});
  expect_continuous(weak);
  expect_continuous(good);
}

TEST(RoomSimulcast, ADownSwitchWaitsForAKeyframeOfTheLowerLayerWhileTheOldOneFlows) {
  Fixture f;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 30), std::set<int>{2});
  // The viewer's estimate falls below the top layer (~312 kbit/s), not below two thirds of
  // it (the old layer keeps flowing), and above the middle one (~125 kbit/s).
  v.estimate = 250'000;
  f.key_next = {false, false, false};
  f.endpoints[Fixture::kStreamer].keyframes.clear();
  // Frames with no keyframe on the middle layer: the top layer keeps flowing.
  std::size_t before = v.sent.size();
  for (int t = 0; t < 12; ++t) {  // past an allocation: target = middle, keyframe asked of it
    f.now_ms += 10;
    f.room.on_tick(f.now_ms);
  }
  std::vector<std::uint32_t> asked = f.endpoints[Fixture::kStreamer].keyframes;
  EXPECT_NE(std::find(asked.begin(), asked.end(), kLayerSsrc[1]), asked.end());
  f.endpoints[Fixture::kStreamer].keyframes.clear();
  for (int i = 0; i < 3; ++i) {
    for (int l = 0; l < 3; ++l) {
      auto k = static_cast<std::size_t>(l);
      f.ts[k] += 3000;
      f.picture_id[k] = (f.picture_id[k] + 1) & 0x7FFF;
      for (int p = 0; p < kPacketsPerFrame[k]; ++p) f.packet(l, p == 0, false, f.seq[k]++);
    }
    f.now_ms += 33;
  }
  ASSERT_GT(v.sent.size(), before);
  EXPECT_EQ(f.recent_layers(v, v.sent.size() - before), std::set<int>{2});
  // The middle layer's keyframe arrives: from its first packet on, only the middle layer.
  f.key_next = {false, true, false};
  f.run_ms(300);
  EXPECT_EQ(f.recent_layers(v, 20), std::set<int>{1});
  expect_continuous(v);
}

// After a spatial switch either way, an up-switch waits 10 s unless the estimate doubled.
TEST(RoomSimulcast, UpSwitchesAreHeldForTenSecondsUnlessTheEstimateDoubles) {
  Fixture f;
  auto& v = f.viewer(2, 8000);
  v.estimate = 60'000;  // the bottom layer (~31k) and not the middle one (~125k)
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 10), std::set<int>{0});
  v.estimate = 200'000;  // room for the middle layer: the first up-switch is free
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 10), std::set<int>{1});
  v.estimate = 100'000;  // down at once
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  v.estimate = 180'000;  // up again 1 s after the down-switch, not doubled: held
  f.run_ms(3000);
  EXPECT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  v.estimate = 1'000'000;  // doubled since that switch's 100k: up now, to the top
  f.run_ms(1000);
  EXPECT_EQ(f.recent_layers(v, 20), std::set<int>{2});
  expect_continuous(v);
}

TEST(RoomSimulcast, HoldEndsAfterTenSeconds) {
  Fixture f;
  auto& v = f.viewer(2, 8000);
  v.estimate = 60'000;
  f.run_ms(1000);
  v.estimate = 200'000;
  f.run_ms(5000);  // an up-switch that lasts past kFailedUpMs: the hold stays 10 s
  ASSERT_EQ(f.recent_layers(v, 10), std::set<int>{1});
  v.estimate = 100'000;  // down
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  v.estimate = 180'000;  // not doubled since the down-switch
  f.run_ms(8000);        // 8-9 s after the down-switch
  EXPECT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  f.run_ms(2500);  // past 10 s
  EXPECT_EQ(f.recent_layers(v, 10), std::set<int>{1});
}

TEST(RoomSimulcast, AWeakViewerChangesNothingForAnother) {
  Fixture f;
  auto& weak = f.viewer(2, 8000);
  auto& good = f.viewer(3, 8100);
  good.estimate = 10'000'000;
  weak.estimate = 10'000'000;
  f.run_ms(1000);
  std::size_t good_before = good.sent.size();
  weak.estimate = 50'000;
  f.run_ms(2000);
  EXPECT_EQ(f.recent_layers(weak, 5), std::set<int>{0});
  EXPECT_EQ(f.recent_layers(good, good.sent.size() - good_before), std::set<int>{2});
  expect_continuous(good);
  expect_continuous(weak);
}

TEST(RoomSimulcast, NackAndPliGoToTheLayerTheViewerIsOn) {
  Fixture f;
  auto& v = f.viewer(2, 8000);
  v.estimate = 60'000;
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  // A NACK of the last packet is answered from the bottom layer's cache, as RTX.
  FakeEndpoint::Sent last = v.sent.back();
  std::array<std::uint16_t, 1> q{last.seq};
  EXPECT_EQ(f.room.on_nack(2, 8000, q, f.now_ms), 1u);
  ASSERT_TRUE(v.sent.back().rtx);
  EXPECT_EQ(v.sent.back().src_ssrc, kLayerSsrc[0]);
  EXPECT_EQ(v.sent.back().src_seq, last.src_seq);
  // A PLI asks the bottom layer for a keyframe.
  f.endpoints[Fixture::kStreamer].keyframes.clear();
  f.now_ms += 1000;
  EXPECT_TRUE(f.room.on_keyframe_request(2, 8000, f.now_ms));
  EXPECT_EQ(f.endpoints[Fixture::kStreamer].keyframes, std::vector<std::uint32_t>{kLayerSsrc[0]});
}

TEST(RoomSimulcast, UnpublishingBySpecRemovesTheLayersFromTheIndex) {
  Fixture f;
  f.viewer(2, 8000);
  f.frame();
  ASSERT_NE(f.room.track_by_ssrc(kLayerSsrc[2]), nullptr);
  PublishedTrack spec;
  spec.kind = MediaKind::kVideo;
  spec.mid = "1";
  spec.rids = {kRids.begin(), kRids.end()};
  f.room.unpublish(Fixture::kStreamer, spec);
  f.video = nullptr;  // gone with the unpublish
  EXPECT_EQ(f.room.track_by_ssrc(kLayerSsrc[2]), nullptr);
  EXPECT_TRUE(f.room.participant(Fixture::kStreamer)->tracks.empty());
  f.frame();  // packets of the gone layers are dropped, nothing crashes
  EXPECT_GT(f.room.counters().dropped_unknown_ssrc, 0u);
}

// ---- layers paused at the publisher (nobody needs them) ----

std::string flags(const LayerChange& c) {
  std::string out;
  for (auto& [rid, on] : c.active) out += rid + (on ? "+" : "-");
  return out;
}

TEST(RoomLayerPause, WithNobodyWatchingOnlyTheLowestLayerRunsAfterTheHold) {
  Fixture f;
  f.obey_layers = true;
  f.run_ms(LayerPauser::kPauseHoldMs - 200);
  EXPECT_TRUE(f.changes.empty());
  f.run_ms(400);
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_EQ(f.changes[0].publisher, Fixture::kStreamer);
  EXPECT_EQ(f.changes[0].mid, "1");
  EXPECT_EQ(flags(f.changes[0]), "q+h-f-");
  EXPECT_EQ(f.room.counters().layer_pauses, 2u);
  EXPECT_EQ(f.node.layer_pauses.load(), 2u);
  f.run_ms(3000);
  EXPECT_EQ(f.changes.size(), 1u);  // nothing more to say
}

TEST(RoomLayerPause, AWatcherWithoutAnEstimateResumesEveryLayerAtOnceAndGetsTheTop) {
  Fixture f;
  f.obey_layers = true;
  f.run_ms(6000);
  ASSERT_EQ(f.sending, (std::array<bool, 3>{true, false, false}));
  auto& v = f.viewer(2, 8000);
  f.run_ms(150);  // the next allocation
  ASSERT_EQ(f.changes.size(), 2u);
  EXPECT_EQ(flags(f.changes[1]), "q+h+f+");
  EXPECT_EQ(f.room.counters().layer_resumes, 2u);
  // It sees the lowest layer at once, then the top one: no ten-second hold on the way up,
  // whatever order the resumed layers come back in.
  f.run_ms(1000);
  EXPECT_EQ(f.recent_layers(v, 20), std::set<int>{2});
  expect_continuous(v);
}

TEST(RoomLayerPause, AResumedLayerComingBackLaterThanTheOtherIsNotHeld) {
  Fixture f;
  f.obey_layers = true;
  f.run_ms(6000);
  auto& v = f.viewer(2, 8000);
  f.obey_layers = false;  // the publisher brings h back at once, f only 600 ms later
  f.sending = {true, true, false};
  f.key_next[1] = true;
  f.run_ms(600);
  EXPECT_EQ(f.recent_layers(v, 5), std::set<int>{1});
  f.sending[2] = true;
  f.key_next[2] = true;
  f.run_ms(600);
  EXPECT_EQ(f.recent_layers(v, 20), std::set<int>{2});
  expect_continuous(v);
}

TEST(RoomLayerPause, TheTopLayersPauseAgainOnlyAfterTheLastWatcherLeftAndTheHold) {
  Fixture f;
  f.obey_layers = true;
  f.viewer(2, 8000);
  f.run_ms(8000);
  EXPECT_TRUE(f.changes.empty());  // watched without an estimate: every layer runs
  ASSERT_TRUE(f.room.unsubscribe(2, Fixture::kStreamer));
  f.run_ms(LayerPauser::kPauseHoldMs - 300);
  EXPECT_TRUE(f.changes.empty());
  f.run_ms(600);
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_EQ(flags(f.changes[0]), "q+h-f-");
}

TEST(RoomLayerPause, ALowViewerKeepsTheNextLayerAndClimbsThroughResumedLayers) {
  Fixture f;
  f.obey_layers = true;
  auto& v = f.viewer(2, 8000);
  v.estimate = 60'000;  // the bottom layer only
  f.run_ms(7000);
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_EQ(flags(f.changes[0]), "q+h+f-");  // h stays: the next up-switch needs it running
  EXPECT_EQ(f.recent_layers(v, 10), std::set<int>{0});
  // Room for everything: up to h (running), which resumes f, then up to f without the hold.
  v.estimate = 10'000'000;
  f.run_ms(1500);
  ASSERT_EQ(f.changes.size(), 2u);
  EXPECT_EQ(flags(f.changes[1]), "q+h+f+");
  EXPECT_EQ(f.recent_layers(v, 20), std::set<int>{2});
  expect_continuous(v);
}

TEST(RoomLayerPause, APausedLayerThatStillSendsIsNotPicked) {
  // The publisher is slow to obey: the paused top layer keeps arriving (and is "live"), but a
  // viewer is never put on a layer the room asked to pause; it asks for it back instead.
  Fixture f;
  f.run_ms(6000);
  ASSERT_EQ(flags(f.changes.at(0)), "q+h-f-");
  ASSERT_EQ(f.sending, (std::array<bool, 3>{true, true, true}));
  auto& v = f.viewer(2, 8000);
  v.estimate = 10'000'000;
  f.room.on_tick(f.now_ms + 200);  // one allocation: the lowest running layer, h and f back
  Subscription& sub = *f.video->subscriptions.at(0);
  EXPECT_EQ(sub.target_layer, 0);
  f.room.take_layer_changes(f.changes);
  ASSERT_EQ(f.changes.size(), 2u);
  EXPECT_EQ(flags(f.changes[1]), "q+h+f-");
}

TEST(RoomLayerPause, ChangingEstimatesNeverPauseALayerInUse) {
  // check_running() after every frame: no viewer ever forwards or targets a paused layer.
  Fixture f;
  f.obey_layers = true;
  auto& a = f.viewer(2, 8000);
  auto& b = f.viewer(3, 8100);
  const std::array<std::uint64_t, 5> est{40'000, 200'000, 10'000'000, 60'000, 150'000};
  for (int step = 0; step < 40; ++step) {
    a.estimate = est[static_cast<std::size_t>(step) % est.size()];
    b.estimate = est[static_cast<std::size_t>(step * 3 + 1) % est.size()];
    f.run_ms(step % 7 == 0 ? 6000 : 700);
  }
  EXPECT_GT(f.room.counters().layer_pauses, 0u);
  EXPECT_GT(f.room.counters().layer_resumes, 0u);
  expect_continuous(a);
  expect_continuous(b);
}

}  // namespace

namespace {

TEST(RoomSimulcast, ProbesAreRecentPacketsAgainAsRtx) {
  Fixture f;
  auto& v = f.viewer(2, 8000);
  v.estimate = 10'000'000;
  f.run_ms(500);
  ASSERT_FALSE(v.sent.empty());
  std::size_t before = v.sent.size();
  std::size_t bytes = f.room.send_probe(2, 3000, 5, f.now_ms);
  EXPECT_GE(bytes, 3000u);
  ASSERT_GE(v.sent.size() - before, 5u);
  std::set<std::uint16_t> media_seqs;
  for (std::size_t i = 0; i < before; ++i)
    if (!v.sent[i].rtx) media_seqs.insert(v.sent[i].seq);
  for (std::size_t i = before; i < v.sent.size(); ++i) {
    EXPECT_TRUE(v.sent[i].rtx);
    EXPECT_EQ(v.sent[i].ssrc, 8001u);  // the viewer's RTX SSRC
    EXPECT_TRUE(media_seqs.count(v.sent[i].seq)) << "a probe repeats a packet it already got";
  }
  // Probes are no NACK answers.
  EXPECT_EQ(f.room.counters().nack_hits, 0u);
  // A participant with no video subscription has nothing to probe with.
  f.room.add_participant(3);
  EXPECT_EQ(f.room.send_probe(3, 3000, 5, f.now_ms), 0u);
}

TEST(RoomSimulcast, TheAllocationCapIsTwiceTheTopLiveLayers) {
  Fixture f;
  struct CapEndpoint final : public Endpoint {
    void send_rtp(const Subscription&, const RtpPacket&, const hype::rtc::PacketExtensions&,
                  std::uint16_t, std::uint32_t) override {}
    void request_keyframe(std::uint32_t) override {}
    void set_allocation_cap(std::uint64_t bps) override { cap = bps; }
    std::uint64_t cap = 99;
  } ep;
  auto& p = f.room.add_participant(2);
  p.endpoint = &ep;
  p.video_codecs = {{"VP8", 120, 121}};
  f.run_ms(1000);
  EXPECT_EQ(ep.cap, 0u);  // watches nothing: nothing to probe for
  ASSERT_NE(f.room.subscribe(2, *f.video, 8000, 10, 20, 8001), nullptr);
  f.run_ms(1000);
  std::uint64_t top = f.video->layers[2]->rate_bps;
  ASSERT_GT(top, 200'000u);
  EXPECT_GE(ep.cap, 2 * top);
  EXPECT_LE(ep.cap, 2 * top + 200'000);
}

// Temporal layers (issue 15 item 3): a viewer whose estimate is a little short of the top
// layer drops its top temporal layer instead of the spatial layer, at once and without a
// keyframe, and sees no sequence number or picture id gap.
TEST(RoomSimulcast, ATemporalLayerIsDroppedBeforeTheSpatialLayerWithoutAGap) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);  // no estimate: the top layer whole
  ASSERT_EQ(f.recent_layers(v, 30), std::set<int>{2});
  // Top layer ~312 kbit/s, its T0+T1 half of that (T0 25 %, T1 25 %, T2 50 %): 200 kbit/s
  // fits T0+T1 of the top (with the margin and the bottom layer's T0) and not the whole.
  v.estimate = 200'000;
  f.endpoints[Fixture::kStreamer].keyframes.clear();
  const std::size_t before = v.sent.size();
  f.run_ms(1000);
  EXPECT_EQ(f.recent_layers(v, v.sent.size() - before), std::set<int>{2});
  EXPECT_TRUE(f.endpoints[Fixture::kStreamer].keyframes.empty());  // no keyframe needed
  std::set<int> tids;
  for (std::size_t i = before + 40; i < v.sent.size(); ++i) tids.insert(v.sent[i].tid);
  EXPECT_EQ(tids, (std::set<int>{0, 1}));
  EXPECT_GT(f.room.counters().dropped_temporal, 0u);
  expect_continuous(v);
  // A NACK across the skipped packets gets the packet that went out with that number.
  FakeEndpoint::Sent last = v.sent.back();
  FakeEndpoint::Sent earlier = v.sent[v.sent.size() - 25];
  std::array<std::uint16_t, 2> q{earlier.seq, last.seq};
  EXPECT_EQ(f.room.on_nack(2, 8000, q, f.now_ms), 2u);
  ASSERT_TRUE(v.sent.back().rtx);
  EXPECT_EQ(v.sent[v.sent.size() - 2].src_seq, earlier.src_seq);
  EXPECT_EQ(v.sent.back().src_seq, last.src_seq);
}

// The frames a viewer got from `from` on: (temporal layer, Y bit) of each frame start.
std::vector<std::pair<int, bool>> frames_since(const FakeEndpoint& e, std::size_t from) {
  std::vector<std::pair<int, bool>> out;
  for (std::size_t i = from; i < e.sent.size(); ++i)
    if (e.sent[i].frame_start && !e.sent[i].rtx) out.emplace_back(e.sent[i].tid, e.sent[i].sync);
  return out;
}

// A step up takes one temporal layer at a time, each at a frame of that layer which references
// base-layer frames only (Y = 1): any other frame of it may reference one the viewer never got.
TEST(RoomSimulcast, ATemporalStepUpTakesOneLayerAtATimeAtLayerSyncFrames) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  // T0 of the top layer only (~78 kbit/s; T0+T1 ~156k does not fit 130k with the margin).
  v.estimate = 130'000;
  f.run_ms(1000);
  std::set<int> tids;
  for (std::size_t i = v.sent.size() - 30; i < v.sent.size(); ++i) tids.insert(v.sent[i].tid);
  ASSERT_EQ(tids, std::set<int>{0});
  ASSERT_EQ(f.recent_layers(v, 30), std::set<int>{2});
  // Room for everything again.
  v.estimate = 1'000'000;
  const std::size_t before = v.sent.size();
  f.run_ms(1000);
  const auto frames = frames_since(v, before);
  // The first frame of each layer above T0 is a Y frame, and T1 comes before T2: in the
  // cycle 0 2 1 2 0 2 1 2 the first T2 is a Y frame, but T2 frames may reference T1 ones.
  int highest = 0;
  for (const auto& [tid, sync] : frames) {
    if (tid > highest) {
      EXPECT_EQ(tid, highest + 1) << "a layer skipped on the way up";
      EXPECT_TRUE(sync) << "T" << tid << " taken at a frame that is not a switch-up point";
      highest = tid;
    }
  }
  EXPECT_EQ(highest, 2);
  tids.clear();  // the last 60 packets: six frames of the top layer
  for (std::size_t i = v.sent.size() - 60; i < v.sent.size(); ++i) tids.insert(v.sent[i].tid);
  EXPECT_EQ(tids, (std::set<int>{0, 1, 2}));
  expect_continuous(v);
}

// An encoder that never marks a switch-up point: the step up waits for a keyframe (it does not
// guess), and takes everything there at once.
TEST(RoomSimulcast, WithoutLayerSyncFramesATemporalStepUpWaitsForAKeyframe) {
  Fixture f;
  f.temporal = true;
  f.sync_frames = false;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  v.estimate = 130'000;
  f.run_ms(1000);
  v.estimate = 1'000'000;
  f.key_next = {false, false, false};
  std::size_t before = v.sent.size();
  for (int i = 0; i < 16; ++i) f.top_frame();  // two cycles, no keyframe
  for (const auto& [tid, sync] : frames_since(v, before)) EXPECT_EQ(tid, 0);
  before = v.sent.size();
  f.layer_frame(2, true);
  for (int i = 0; i < 8; ++i) {
    f.layer_frame(2, false);
    f.now_ms += 33;
  }
  std::set<int> tids;
  for (const auto& [tid, sync] : frames_since(v, before)) tids.insert(tid);
  EXPECT_EQ(tids, (std::set<int>{0, 1, 2}));
  expect_continuous(v);
}

// Packets the publisher's link lost inside pictures the viewer skips are skipped too: the
// viewer sees no gap it would NACK and never get repaired. A loss in a picture it takes stays
// a gap (the viewer NACKs it; the retransmission repairs it).
TEST(RoomSimulcast, UpstreamLossesInsideSkippedPicturesLeaveNoGap) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  v.estimate = 130'000;  // T0 of the top layer only
  f.run_ms(1000);
  ASSERT_EQ(f.video->subscriptions.front()->temporal, 0);
  f.key_next = {false, false, false};
  while (f.pattern_pos[2] % 4 != 3) {  // up to the frame before a T0
    f.layer_frame(2, false);
    f.now_ms += 33;
  }
  // Next: T0 (packets t0..t0+9), T2, T1, T2 (10 each), T0. Lost: the first packet of the T2
  // after the T0, one in its middle, its last with the first of the T1, and the last of the
  // second T2 (just before the next T0 starts).
  const std::uint16_t t0 = f.seq[2];
  for (int k : {10, 14, 19, 20, 39}) f.lose.insert({2, static_cast<std::uint16_t>(t0 + k)});
  const std::size_t before = v.sent.size();
  for (int i = 0; i < 8; ++i) {
    f.layer_frame(2, false);
    f.now_ms += 33;
  }
  for (const auto& [tid, sync] : frames_since(v, before)) EXPECT_EQ(tid, 0);
  expect_continuous(v);
  // A loss in a T0 picture is a gap (the next frame is a T0 again: 8 frames are a cycle).
  f.lose.insert({2, static_cast<std::uint16_t>(f.seq[2] + 3)});
  const std::size_t mark = v.sent.size();
  for (int i = 0; i < 8; ++i) {
    f.layer_frame(2, false);
    f.now_ms += 33;
  }
  int gaps = 0;
  for (std::size_t i = mark; i < v.sent.size(); ++i)
    if (static_cast<std::uint16_t>(v.sent[i - 1].seq + 1) != v.sent[i].seq) ++gaps;
  EXPECT_EQ(gaps, 1);
}

// A frame start that arrives late (a retransmission of a lost first packet) does not move the
// viewer's temporal step: its picture was skipped already, and stepping up there would let the
// next frames of that layer through without a switch-up point (they reference the lost one).
TEST(RoomSimulcast, ALateFrameStartDoesNotMoveTheTemporalStep) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  v.estimate = 130'000;  // the top layer's T0 only
  f.run_ms(1000);
  const Subscription& sub = *f.video->subscriptions.front();
  ASSERT_EQ(sub.temporal, 0);
  f.key_next = {false, false, false};
  while (f.pattern_pos[2] != 1) f.top_frame();  // next: the cycle's first T1 (a Y frame)
  v.estimate = 200'000;                         // T0+T1 (~156 kbit/s), not all of it
  for (int i = 0; i < 5; ++i) {
    f.now_ms += 10;
    f.room.on_tick(f.now_ms);
  }
  ASSERT_EQ(sub.target_temporal, 1);
  const std::uint16_t y_start = f.seq[2];
  f.lose.insert({2, y_start});  // that Y frame's first packet
  const std::size_t before = v.sent.size();
  for (int i = 0; i < 3; ++i) f.top_frame();  // the Y frame (skipped), a T2, a T0
  f.redeliver(2, y_start);
  for (int i = 0; i < 6; ++i) f.top_frame();  // T2, T1 (no Y), T2, T0, T2, T1 (Y)
  int first_t1 = -1;
  bool first_t1_sync = false;
  for (const auto& [tid, sync] : frames_since(v, before)) {
    if (tid == 1 && first_t1 < 0) {
      first_t1 = tid;
      first_t1_sync = sync;
    }
  }
  ASSERT_EQ(first_t1, 1);
  EXPECT_TRUE(first_t1_sync) << "a T1 frame without Y reached the viewer first";
  expect_continuous(v);
}

// Whole pictures of skipped layers lost upstream (the lowest layer codes a picture in one
// packet): for a viewer on T0 only, TL0PICIDX tells that no base-layer picture was among them,
// so their numbers and picture ids close up too.
TEST(RoomSimulcast, WholeSkippedPicturesLostUpstreamLeaveNoGapForABaseLayerViewer) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  v.estimate = 10'000;  // the lowest layer's T0 (~8 kbit/s) only
  f.run_ms(2000);
  const Subscription& sub = *f.video->subscriptions.front();
  ASSERT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  ASSERT_EQ(sub.temporal, 0);
  // Every T2 picture of the lowest layer in the next two cycles is lost.
  for (int k = 1; k <= 16; ++k) {
    const auto pos = static_cast<std::size_t>((f.pattern_pos[0] + k) % 8);
    if (kTemporalPattern[pos] == 2)
      f.lose.insert({0, static_cast<std::uint16_t>(f.seq[0] + k - 1)});
  }
  f.key_next = {false, false, false};
  const std::size_t before = v.sent.size();
  for (int k = 0; k < 16; ++k) f.frame();
  ASSERT_GT(v.sent.size(), before + 2);
  expect_continuous(v);
}

// A picture above the viewer's temporal layer, lost upstream where the SFU could not tell it
// was one it skips (the viewer takes T0 and T1; a whole T2 picture between a T0 and a T1): the
// viewer NACKs the number; once the publisher's retransmission is in, the answer is padding
// under that number, not the picture (which references frames the viewer never got).
TEST(RoomSimulcast, ANackForAPictureAboveTheViewersLayerIsAnsweredWithPadding) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  v.estimate = 20'000;  // the lowest layer's T0+T1 (~16 kbit/s), not all of it (~31)
  f.run_ms(2000);
  const Subscription& sub = *f.video->subscriptions.front();
  ASSERT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  ASSERT_EQ(sub.temporal, 1);
  f.key_next = {false, false, false};
  while (kTemporalPattern[static_cast<std::size_t>((f.pattern_pos[0] + 1) % 8)] != 0) f.frame();
  const std::uint16_t t2 = static_cast<std::uint16_t>(f.seq[0] + 1);  // the T2 after that T0
  f.lose.insert({0, t2});
  const std::size_t before = v.sent.size();
  for (int k = 0; k < 4; ++k) f.frame();
  std::uint16_t missing = 0;
  int gaps = 0;
  for (std::size_t i = before; i < v.sent.size(); ++i) {
    if (v.sent[i].rtx || static_cast<std::uint16_t>(v.sent[i - 1].seq + 1) == v.sent[i].seq)
      continue;
    missing = static_cast<std::uint16_t>(v.sent[i - 1].seq + 1);
    ++gaps;
  }
  ASSERT_EQ(gaps, 1);
  f.redeliver(0, t2);  // the publisher's retransmission: not forwarded (T2)
  const std::size_t sent = v.sent.size();
  std::array<std::uint16_t, 1> q{missing};
  EXPECT_EQ(f.room.on_nack(2, 8000, q, f.now_ms), 1u);
  ASSERT_EQ(v.sent.size(), sent + 1);
  EXPECT_EQ(v.sent.back().seq, missing);
  EXPECT_EQ(v.sent.back().src_seq, t2);
  EXPECT_EQ(v.sent.back().payload, 0u) << "the T2 picture itself went to a T1 viewer";
  EXPECT_EQ(f.room.counters().padding_for_skipped, 1u);
}

// A NACK for a number sent before the viewer stepped down (it took that layer then) gets the
// packet itself, not padding: padding is only for pictures above the step it was sent under.
TEST(RoomSimulcast, ANackSentBeforeAStepDownGetsThePacketItself) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  const Subscription& sub = *f.video->subscriptions.front();
  ASSERT_EQ(sub.temporal, -1);
  const FakeEndpoint::Sent* t2 = nullptr;
  for (std::size_t i = v.sent.size(); i-- > v.sent.size() - 40 && !t2;)
    if (v.sent[i].tid == 2 && !v.sent[i].rtx) t2 = &v.sent[i];
  ASSERT_NE(t2, nullptr);
  const std::uint16_t out = t2->seq, src = t2->src_seq;
  v.estimate = 130'000;  // the top layer's T0 only: a step down at the next frame
  for (int i = 0; i < 15 && sub.temporal != 0; ++i) f.top_frame();
  ASSERT_EQ(sub.temporal, 0);
  std::array<std::uint16_t, 1> q{out};
  ASSERT_EQ(f.room.on_nack(2, 8000, q, f.now_ms), 1u);
  EXPECT_EQ(v.sent.back().src_seq, src);
  EXPECT_GT(v.sent.back().payload, 0u);
  EXPECT_EQ(f.room.counters().padding_for_skipped, 0u);
}

// A packet that arrives late (the publisher's retransmission of a picture lost whole) goes by
// the step in force when its number was passed: a T2 picture lost while the viewer took T0+T1
// does not reach it after it stepped up to T2 (its references are not the viewer's).
TEST(RoomSimulcast, ALatePacketGoesByTheStepItsNumberWasPassedUnder) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  v.estimate = 200'000;  // the top layer's T0+T1
  f.run_ms(1000);
  const Subscription& sub = *f.video->subscriptions.front();
  ASSERT_EQ(sub.temporal, 1);
  f.key_next = {false, false, false};
  while (f.pattern_pos[2] != 6) f.top_frame();  // next: the cycle's last T2 (no Y)
  const std::uint16_t lost = static_cast<std::uint16_t>(f.seq[2] + 4);
  for (int k = 0; k < 10; ++k) f.lose.insert({2, static_cast<std::uint16_t>(f.seq[2] + k)});
  f.top_frame();  // that T2, lost whole
  v.estimate = 1'000'000;
  for (int i = 0; i < 16 && sub.temporal != 2 && sub.temporal != -1; ++i) f.top_frame();
  ASSERT_TRUE(sub.temporal == 2 || sub.temporal == -1) << sub.temporal;  // at a T2 Y frame
  const std::size_t before = v.sent.size();
  f.redeliver(2, lost);
  for (std::size_t i = before; i < v.sent.size(); ++i) EXPECT_NE(v.sent[i].src_seq, lost);
}

// A packet the VP8 munger cannot map (a picture from before the layer's switch, with a new
// sequence number) is dropped without taking a number: no gap after it.
TEST(RoomSimulcast, APacketTheMungerRefusesLeavesNoGap) {
  Fixture f;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 10), std::set<int>{2});
  const std::size_t before = v.sent.size();
  const int pid = f.picture_id[2];
  f.picture_id[2] = (pid - 1000) & 0x7FFF;  // far older than anything the viewer got
  f.packet(2, true, false, f.seq[2]++);
  f.picture_id[2] = pid;
  EXPECT_EQ(v.sent.size(), before);
  f.run_ms(200);
  ASSERT_GT(v.sent.size(), before);
  expect_continuous(v);
}

// A spatial down-switch waiting for its keyframe thins the layer still flowing to its lowest
// temporal step at once (the link just shrank); the target layer's own step applies at the
// switch.
TEST(RoomSimulcast, WhileADownSwitchWaitsTheOldLayerSendsOnlyItsBaseTemporalLayer) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 30), std::set<int>{2});
  // 80 kbit/s: the top layer's T0 (~78 kbit/s) does not fit with the bottom layer's T0
  // (~8 kbit/s), but alone it does (so it keeps flowing); the middle layer's T0+T1 (~62
  // kbit/s) fits. No keyframe comes for a while.
  v.estimate = 80'000;
  f.key_next = {false, false, false};
  for (int t = 0; t < 12; ++t) {
    f.now_ms += 10;
    f.room.on_tick(f.now_ms);
  }
  f.endpoints[Fixture::kStreamer].keyframes.clear();
  const std::size_t before = v.sent.size();
  for (int i = 0; i < 8; ++i) {  // two pattern cycles of the top layer, no keyframes
    f.layer_frame(2, false);
    f.now_ms += 33;
  }
  std::set<int> tids;
  for (std::size_t i = before; i < v.sent.size(); ++i) tids.insert(v.sent[i].tid);
  EXPECT_EQ(tids, std::set<int>{0});
  EXPECT_EQ(f.recent_layers(v, v.sent.size() - before), std::set<int>{2});
  // The keyframes come: the switch to the lower layer.
  const Subscription& sub = *f.video->subscriptions.front();
  ASSERT_LT(sub.target_layer, 2);
  f.key_next = {true, true, false};
  f.run_ms(500);
  EXPECT_EQ(f.recent_layers(v, 4), std::set<int>{sub.target_layer});
  EXPECT_EQ(sub.temporal, sub.next_temporal);
  expect_continuous(v);
}

// When even the old layer's lowest step is far above the estimate (1.5 x), nothing of it goes out
// while the down-switch waits (a short freeze instead of an overflowing queue); if the switch is
// given up, the old layer starts over at a keyframe (its dropped T0 pictures are references).
TEST(RoomSimulcast, ADownSwitchBelowTheOldLayersBaseSendsNothingUntilTheKeyframe) {
  Fixture f;
  f.temporal = true;
  auto& v = f.viewer(2, 8000);
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 30), std::set<int>{2});
  v.estimate = 40'000;  // below two thirds of the top layer's T0 (~78 kbit/s)
  f.key_next = {false, false, false};
  auto tick_frames = [&](int frames, bool key_top) {
    for (int i = 0; i < frames; ++i) {
      f.layer_frame(2, key_top && i == 0);
      f.now_ms += 33;
      f.room.on_tick(f.now_ms);
    }
  };
  tick_frames(4, false);  // the allocation runs: target lower, the top layer cut
  const std::size_t before = v.sent.size();
  tick_frames(8, false);
  EXPECT_EQ(v.sent.size(), before);
  // The estimate comes back before any lower keyframe: the top layer again, asked for a
  // keyframe, and nothing of it before that keyframe.
  v.estimate = 1'000'000;
  f.endpoints[Fixture::kStreamer].keyframes.clear();
  tick_frames(8, false);
  const auto& asked = f.endpoints[Fixture::kStreamer].keyframes;
  EXPECT_NE(std::find(asked.begin(), asked.end(), kLayerSsrc[2]), asked.end());
  EXPECT_EQ(v.sent.size(), before);
  tick_frames(8, true);
  ASSERT_GT(v.sent.size(), before);
  EXPECT_TRUE(v.sent[before].frame_start);
  EXPECT_EQ(v.sent[before].tid, 0);
  EXPECT_EQ(f.recent_layers(v, v.sent.size() - before), std::set<int>{2});
  expect_continuous(v);
}

// An up-switch undone within a few seconds failed: the next one waits twice as long (a link
// that cannot carry the layer is not tried every 10 s, a freeze each time); a doubled
// estimate still goes up at once.
TEST(RoomSimulcast, AFailedUpSwitchDoublesTheHold) {
  Fixture f;
  auto& v = f.viewer(2, 8000);
  v.estimate = 100'000;  // the bottom layer (~31k), not the middle one (~125k)
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  f.run_ms(10'500);  // past the hold of the first switch
  v.estimate = 180'000;
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 10), std::set<int>{1});
  v.estimate = 100'000;  // undone within 4 s: failed
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  v.estimate = 180'000;
  f.run_ms(12'000);  // 12 s after the down-switch: held (20 s now)
  EXPECT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  f.run_ms(9'000);  // 21 s after it
  EXPECT_EQ(f.recent_layers(v, 10), std::set<int>{1});
  // That up-switch lasts 10 s: the hold is 10 s again. Down, then up 10.5 s later.
  f.run_ms(10'500);
  v.estimate = 100'000;
  f.run_ms(1000);
  ASSERT_EQ(f.recent_layers(v, 5), std::set<int>{0});
  v.estimate = 180'000;
  f.run_ms(10'500);
  EXPECT_EQ(f.recent_layers(v, 10), std::set<int>{1});
  expect_continuous(v);
}

}  // namespace
