// Video in a Room (screen share): watchers get the publisher's stream in their own payload
// types and never in a codec they did not accept, nothing before a keyframe, NACKs answered
// as RTX, keyframe requests from many watchers coalesced to at most one per 500 ms (and a
// held-back one sent when due, not dropped), duplicates (RTX probes) dropped, and stream
// connections kept out of audio slots and speaker selection.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <vector>

#include "rtc/rtp/rtp_packet.hpp"
#include "sfu/room.hpp"

using namespace hype::sfu;
using hype::rtc::RtpBuilder;
using hype::rtc::RtpPacket;

namespace {

constexpr std::uint8_t kVp8 = 96;

class FakeEndpoint final : public Endpoint {
 public:
  struct Sent {
    std::uint32_t ssrc;
    std::uint8_t pt;
    std::uint16_t seq;
    bool rtx;
  };
  void send_rtp(const Subscription& sub, const RtpPacket&, const hype::rtc::PacketExtensions&,
                std::uint16_t seq, std::uint32_t) override {
    sent.push_back({sub.rewriter.out_ssrc(), sub.out_payload_type, seq, false});
  }
  void send_rtx(const Subscription& sub, const RtpPacket&, const hype::rtc::PacketExtensions&,
                std::uint16_t osn, std::uint32_t) override {
    sent.push_back({sub.rtx_ssrc, sub.out_rtx_payload_type, osn, true});
  }
  void request_keyframe(std::uint32_t ssrc) override { keyframes.push_back(ssrc); }
  std::vector<Sent> sent;
  std::vector<std::uint32_t> keyframes;
};

// A VP8 payload (RFC 7741): descriptor with S=1, PID 0 (first packet of a frame) and the VP8
// payload header's P bit (0: keyframe); continuation packets have S=0.
std::vector<std::uint8_t> vp8_payload(bool frame_start, bool keyframe) {
  std::vector<std::uint8_t> p(100, 0xAB);
  p[0] = frame_start ? 0x10 : 0x00;  // X=0 R=0 N=0 S PID=0
  p[1] = keyframe ? 0x00 : 0x01;     // payload header: P bit (bit 0) 0 = keyframe
  if (keyframe) {                    // a key frame's start code (RFC 6386 9.1)
    p[4] = 0x9d;
    p[5] = 0x01;
    p[6] = 0x2a;
  }
  return p;
}

struct Fixture {
  SfuCounters node;
  Room room{1, SpeakerOptions{}, 3, &node};
  std::map<ParticipantId, FakeEndpoint> endpoints;
  std::uint16_t seq = 1000;
  std::uint32_t ts = 0;
  static constexpr ParticipantId kStreamer = stream_participant(1);
  Track* video = nullptr;

  Fixture() {
    auto& p = room.add_participant(kStreamer);
    p.endpoint = &endpoints[kStreamer];
    PublishedTrack t;
    t.ssrc = 5000;
    t.kind = MediaKind::kVideo;
    t.payload_type = kVp8;
    t.clock_rate = 90000;
    t.mid = "1";
    t.source = TrackSource::kScreen;
    t.codec = "VP8";
    t.rtx_ssrc = 5001;
    t.rtx_payload_type = 97;
    video = room.publish(kStreamer, t);
  }
  Participant& viewer(ParticipantId id, std::vector<ReceiveCodec> codecs) {
    auto& p = room.add_participant(id);
    p.endpoint = &endpoints[id];
    p.video_codecs = std::move(codecs);
    return p;
  }
  void send(bool frame_start, bool keyframe, std::int64_t now_ms, std::uint16_t at_seq = 0) {
    std::vector<std::uint8_t> buf(300);
    auto payload = vp8_payload(frame_start, keyframe);
    std::uint16_t q = at_seq ? at_seq : seq++;
    if (frame_start) ts += 3000;
    RtpBuilder b(buf, {kVp8, true, q, ts, 5000});
    b.payload(payload);
    buf.resize(b.finish());
    RtpPacket p;
    ASSERT_EQ(RtpPacket::parse(buf, p), hype::rtc::RtpParseStatus::kOk);
    hype::rtc::PacketExtensions ext;
    room.on_rtp(*room.participant(kStreamer), p, ext, now_ms * 1000);
  }
};

TEST(RoomVideo, AWatcherGetsItsOwnPayloadTypeAndNothingBeforeAKeyframe) {
  Fixture f;
  f.viewer(2, {{"H264", 102, 103}, {"VP8", 120, 121}});
  Subscription* sub = f.room.subscribe(2, *f.video, 7000, 10, 20, 7001);
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->out_payload_type, 120);
  EXPECT_EQ(sub->out_rtx_payload_type, 121);
  f.send(true, false, 0);   // delta frame: the watcher could not decode it
  f.send(false, false, 0);  // its continuation
  EXPECT_TRUE(f.endpoints[2].sent.empty());
  EXPECT_EQ(f.room.counters().dropped_before_keyframe, 2u);
  f.send(true, true, 10);  // a keyframe: from here on everything goes
  f.send(false, false, 10);
  f.send(true, false, 40);
  ASSERT_EQ(f.endpoints[2].sent.size(), 3u);
  for (auto& s : f.endpoints[2].sent) {
    EXPECT_EQ(s.ssrc, 7000u);
    EXPECT_EQ(s.pt, 120);
  }
  // Its sequence numbers start at the keyframe with no gap.
  EXPECT_EQ(f.endpoints[2].sent[1].seq, static_cast<std::uint16_t>(f.endpoints[2].sent[0].seq + 1));
}

TEST(RoomVideo, NeverForwardsACodecTheWatcherDidNotAccept) {
  Fixture f;
  f.viewer(2, {{"H264", 102, 103}});
  EXPECT_FALSE(f.room.can_receive(2, *f.video));
  EXPECT_EQ(f.room.subscribe(2, *f.video, 7000, 10, 20, 7001), nullptr);
  f.send(true, true, 0);
  EXPECT_TRUE(f.endpoints[2].sent.empty());
}

TEST(RoomVideo, NacksAreAnsweredAsRtxWhenTheWatcherAcceptedIt) {
  Fixture f;
  f.viewer(2, {{"VP8", 120, 121}});
  f.viewer(3, {{"VP8", 100, 0}});  // no rtx: the original packet again
  f.room.subscribe(2, *f.video, 7000, 10, 20, 7001);
  f.room.subscribe(3, *f.video, 8000, 10, 20, 8001);
  f.send(true, true, 0);
  f.send(false, false, 0);
  std::uint16_t second = f.endpoints[2].sent.at(1).seq;
  std::array<std::uint16_t, 1> lost{second};
  EXPECT_EQ(f.room.on_nack(2, 7000, lost, 5), 1u);
  ASSERT_EQ(f.endpoints[2].sent.size(), 3u);
  EXPECT_TRUE(f.endpoints[2].sent[2].rtx);
  EXPECT_EQ(f.endpoints[2].sent[2].ssrc, 7001u);
  EXPECT_EQ(f.endpoints[2].sent[2].pt, 121);
  EXPECT_EQ(f.endpoints[2].sent[2].seq, second);  // the OSN
  std::array<std::uint16_t, 1> lost3{f.endpoints[3].sent.at(1).seq};
  EXPECT_EQ(f.room.on_nack(3, 8000, lost3, 5), 1u);
  EXPECT_FALSE(f.endpoints[3].sent.back().rtx);
  EXPECT_EQ(f.endpoints[3].sent.back().ssrc, 8000u);
  EXPECT_EQ(f.room.counters().rtx_sent, 1u);
  EXPECT_EQ(f.node.rtx_sent.load(), 1u);
}

TEST(RoomVideo, KeyframeRequestsFromManyWatchersReachThePublisherAtMostTwicePerSecond) {
  Fixture f;
  for (ParticipantId v = 2; v < 52; ++v) {
    f.viewer(v, {{"VP8", 96, 97}});
    f.room.subscribe(v, *f.video, static_cast<std::uint32_t>(7000 + v), 0, 0, 0);
  }
  // Every watcher sends a PLI every 100 ms for 3 s.
  for (std::int64_t now = 0; now < 3000; now += 20) {
    if (now % 100 == 0)
      for (ParticipantId v = 2; v < 52; ++v)
        f.room.on_keyframe_request(v, static_cast<std::uint32_t>(7000 + v), now);
    f.room.on_tick(now);
  }
  auto& asked = f.endpoints[Fixture::kStreamer].keyframes;
  EXPECT_GE(asked.size(), 5u);  // requests keep getting through, coalesced
  EXPECT_LE(asked.size(), 6u);  // at most one per 500 ms over 3 s
  EXPECT_EQ(f.room.counters().plis, 50u * 30u);
}

TEST(RoomVideo, AHeldBackKeyframeRequestIsSentWhenDueNotDropped) {
  Fixture f;
  f.viewer(2, {{"VP8", 96, 97}});
  f.viewer(3, {{"VP8", 96, 97}});
  f.room.subscribe(2, *f.video, 7002, 0, 0, 0);
  f.room.subscribe(3, *f.video, 7003, 0, 0, 0);
  auto& asked = f.endpoints[Fixture::kStreamer].keyframes;
  f.room.request_keyframe(*f.video, 1000);  // watcher 2 starts watching
  f.room.request_keyframe(*f.video, 1100);  // watcher 3, 100 ms later: held back
  EXPECT_EQ(asked.size(), 1u);
  f.room.on_tick(1400);
  EXPECT_EQ(asked.size(), 1u);
  f.room.on_tick(1500);  // due: watcher 3 is not left waiting for a natural keyframe
  EXPECT_EQ(asked.size(), 2u);
  f.room.on_tick(2200);  // nothing pending: nothing sent
  EXPECT_EQ(asked.size(), 2u);
}

TEST(RoomVideo, DuplicatesAndPaddingAreNotForwardedTwice) {
  Fixture f;
  f.viewer(2, {{"VP8", 96, 97}});
  f.room.subscribe(2, *f.video, 7000, 0, 0, 0);
  f.send(true, true, 0, 500);
  f.send(true, true, 10, 500);  // the same packet again (an RTX probe repeating media)
  EXPECT_EQ(f.endpoints[2].sent.size(), 1u);
  EXPECT_EQ(f.room.counters().dropped_duplicate, 1u);
}

TEST(RoomVideo, UnsubscribeStopsTheStreamAndTheIndex) {
  Fixture f;
  f.viewer(2, {{"VP8", 96, 97}});
  f.room.subscribe(2, *f.video, 7000, 0, 0, 0);
  EXPECT_NE(f.room.subscription(2, 7000), nullptr);
  EXPECT_TRUE(f.room.unsubscribe(2, Fixture::kStreamer));
  EXPECT_EQ(f.room.subscription(2, 7000), nullptr);
  EXPECT_FALSE(f.room.unsubscribe(2, Fixture::kStreamer));
  f.send(true, true, 0);
  EXPECT_TRUE(f.endpoints[2].sent.empty());
}

TEST(RoomVideo, StreamConnectionsTakeNoAudioSlotsAndScreenAudioNoSpeakerPlace) {
  SfuCounters node;
  Room room{1, SpeakerOptions{}, 3, &node};
  room.add_participant(1);
  room.add_participant(2);
  room.add_participant(stream_participant(1));
  room.add_participant(stream_participant(3));
  EXPECT_EQ(room.wanted_slots(1), 1u);  // hears user 2 only: stream connections are not voices
  EXPECT_EQ(room.wanted_slots(stream_participant(1)), 0u);
  PublishedTrack audio;
  audio.ssrc = 900;
  audio.source = TrackSource::kScreen;
  ASSERT_NE(room.publish(stream_participant(1), audio), nullptr);
  std::vector<ParticipantId> changed;
  room.update_selection(0, changed);
  for (auto id : room.selector().primary()) EXPECT_NE(id, stream_participant(1));
  EXPECT_TRUE(room.selector().primary().empty());
}

}  // namespace
