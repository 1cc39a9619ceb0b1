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

struct Sent {
  ParticipantId to;
  std::uint32_t ssrc;
  std::uint16_t seq;
  std::uint32_t ts;
  std::vector<std::uint8_t> bytes;
};

class RecordingSink : public ForwardSink {
 public:
  void forward(const Subscription& sub, const RtpPacket& pkt, const hype::rtc::PacketExtensions&,
               std::uint16_t seq, std::uint32_t ts) override {
    hype::rtc::ByteSpan src = pkt.bytes();
    sent.push_back({sub.subscriber->id, sub.rewriter.out_ssrc(), seq, ts,
                    std::vector<std::uint8_t>(src.begin(), src.end())});
  }
  void request_keyframe(const Track& t) override { keyframes.push_back(t.ssrc); }
  std::vector<Sent> sent;
  std::vector<std::uint32_t> keyframes;
  std::size_t count_to(ParticipantId p) const {
    std::size_t n = 0;
    for (auto& s : sent) n += s.to == p;
    return n;
  }
};

constexpr std::uint8_t kLevelId = 1;

std::vector<std::uint8_t> opus(std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts,
                               std::uint8_t level_dbov = 30) {
  std::vector<std::uint8_t> buf(200);
  std::array<std::uint8_t, 1> level{static_cast<std::uint8_t>(0x80 | level_dbov)};
  std::array<std::uint8_t, 40> payload{};
  payload.fill(0x5A);
  RtpBuilder b(buf, {111, false, seq, ts, ssrc});
  b.add_extension(kLevelId, level).payload(payload);
  buf.resize(b.finish());
  return buf;
}

struct Fixture {
  Room room{1};
  RecordingSink sink;
  std::map<ParticipantId, Track*> tracks;

  void join(ParticipantId id) {
    auto& p = room.add_participant(id);
    p.ext.audio_level = kLevelId;
    tracks[id] =
        room.publish(id, static_cast<std::uint32_t>(id * 100), MediaKind::kAudio, 111, 48000, "0");
  }
  void subscribe_everyone() {
    for (auto& p : room.participants())
      for (auto& [owner, t] : tracks)
        room.subscribe(p->id, *t, static_cast<std::uint32_t>(p->id * 1000 + owner), 0, 0);
  }
  void send(ParticipantId from, std::uint16_t seq, std::int64_t now_ms, std::uint8_t level = 30,
            std::uint32_t ts = 0) {
    auto buf = opus(static_cast<std::uint32_t>(from * 100), seq, ts ? ts : seq * 960u, level);
    RtpPacket p;
    ASSERT_EQ(RtpPacket::parse(buf, p), hype::rtc::RtpParseStatus::kOk);
    hype::rtc::PacketExtensions ext;
    hype::rtc::index_extensions(p, room.participant(from)->ext, ext);
    room.on_rtp(*room.participant(from), p, ext, now_ms * 1000, sink);
  }
};

}  // namespace

TEST(Room, ForwardsEveryPublisherToEveryOtherSubscriber) {
  Fixture f;
  for (ParticipantId id = 1; id <= 4; ++id) f.join(id);
  f.subscribe_everyone();
  for (std::uint16_t s = 0; s < 10; ++s)
    for (ParticipantId id = 1; id <= 4; ++id) f.send(id, s, s * 20);
  EXPECT_EQ(f.sink.sent.size(), 4u * 3u * 10u);  // nobody hears themselves
  for (ParticipantId id = 1; id <= 4; ++id) EXPECT_EQ(f.sink.count_to(id), 30u);
  // Per-subscriber SSRC and a gapless sequence from the subscriber's initial value.
  std::map<std::uint32_t, std::vector<std::uint16_t>> by_ssrc;
  for (auto& s : f.sink.sent) by_ssrc[s.ssrc].push_back(s.seq);
  EXPECT_EQ(by_ssrc.size(), 12u);
  for (auto& [ssrc, seqs] : by_ssrc)
    for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i);
  EXPECT_EQ(f.room.counters().forwarded_packets, 120u);
}

TEST(Room, ServerMuteDropsPackets) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.subscribe_everyone();
  f.room.set_server_mute(1, true);
  f.send(1, 0, 0);
  f.send(2, 0, 0);
  EXPECT_EQ(f.sink.count_to(2), 0u);
  EXPECT_EQ(f.sink.count_to(1), 1u);
  EXPECT_EQ(f.room.counters().dropped_muted, 1u);
}

TEST(Room, UnknownSsrcIsCountedAndDropped) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.subscribe_everyone();
  auto buf = opus(0xDEAD, 1, 1);
  RtpPacket p;
  ASSERT_EQ(RtpPacket::parse(buf, p), hype::rtc::RtpParseStatus::kOk);
  hype::rtc::PacketExtensions ext;
  hype::rtc::index_extensions(p, f.room.participant(1)->ext, ext);
  f.room.on_rtp(*f.room.participant(1), p, ext, 0, f.sink);
  EXPECT_TRUE(f.sink.sent.empty());
  EXPECT_EQ(f.room.counters().dropped_unknown_ssrc, 1u);
}

TEST(Room, NackIsAnsweredFromCacheWithSameRewrite) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.subscribe_everyone();
  for (std::uint16_t s = 500; s < 510; ++s) f.send(1, s, s);
  ASSERT_EQ(f.sink.sent.size(), 10u);
  Sent original = f.sink.sent[3];
  f.sink.sent.clear();
  std::array<std::uint16_t, 3> lost{original.seq, 60000,
                                    static_cast<std::uint16_t>(original.seq + 1)};
  EXPECT_EQ(f.room.on_nack(2, original.ssrc, lost, 520, f.sink), 2u);
  ASSERT_EQ(f.sink.sent.size(), 2u);
  EXPECT_EQ(f.sink.sent[0].seq, original.seq);
  EXPECT_EQ(f.sink.sent[0].ts, original.ts);
  EXPECT_EQ(f.sink.sent[0].bytes, original.bytes);
  EXPECT_EQ(f.room.counters().nacks, 3u);
  EXPECT_EQ(f.room.counters().nack_hits, 2u);
  // Too old for a jitter buffer: not resent.
  EXPECT_EQ(f.room.on_nack(2, original.ssrc, lost, 5000, f.sink), 0u);
  // Unknown subscription.
  EXPECT_EQ(f.room.on_nack(2, 12345, lost, 520, f.sink), 0u);
}

TEST(Room, KeyframeRequestsAreThrottledPerTrack) {
  Fixture f;
  for (ParticipantId id = 1; id <= 3; ++id) f.join(id);
  f.subscribe_everyone();
  // Subscribers 2 and 3 both ask for publisher 1's keyframe.
  EXPECT_TRUE(f.room.on_keyframe_request(2, 2 * 1000 + 1, 1000, f.sink));
  EXPECT_FALSE(f.room.on_keyframe_request(3, 3 * 1000 + 1, 1100, f.sink));
  EXPECT_TRUE(f.room.on_keyframe_request(3, 3 * 1000 + 2, 1100, f.sink));  // other track
  EXPECT_TRUE(f.room.on_keyframe_request(2, 2 * 1000 + 1, 1600, f.sink));
  EXPECT_EQ(f.sink.keyframes, (std::vector<std::uint32_t>{100, 200, 100}));
  EXPECT_EQ(f.room.counters().plis, 4u);
  EXPECT_EQ(f.room.counters().plis_forwarded, 3u);
}

TEST(Room, AudioLevelsDriveSpeakerDetection) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.subscribe_everyone();
  std::vector<SpeakerEvent> ev;
  for (std::uint16_t s = 0; s < 20; ++s) {
    f.send(1, s, s * 20, 25);
    f.send(2, s, s * 20, 120);
    if (s % 3 == 0) f.room.speakers().tick(s * 20, ev);
  }
  EXPECT_TRUE(f.room.speakers().speaking(1));
  EXPECT_FALSE(f.room.speakers().speaking(2));
  EXPECT_EQ(f.room.speakers().active_speaker(), 1u);
}

TEST(Room, LeavingRemovesTracksAndSubscriptions) {
  Fixture f;
  for (ParticipantId id = 1; id <= 3; ++id) f.join(id);
  f.subscribe_everyone();
  f.room.remove_participant(2);
  f.tracks.erase(2);
  EXPECT_EQ(f.room.track_by_ssrc(200), nullptr);
  f.send(1, 0, 0);
  EXPECT_EQ(f.sink.count_to(3), 1u);
  EXPECT_EQ(f.sink.count_to(2), 0u);
  EXPECT_EQ(f.room.participants().size(), 2u);
}

TEST(Room, DtxSilenceCostsNothing) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.subscribe_everyone();
  f.send(1, 0, 0);
  f.send(1, 1, 20);
  // 2 s of DTX: the publisher sends nothing, the room does nothing. Then speech resumes with
  // a timestamp jump that passes through unchanged (the receiver's jitter buffer needs it).
  f.send(1, 2, 2020, 30, 960 + 2000 * 48);
  ASSERT_EQ(f.sink.sent.size(), 3u);
  EXPECT_EQ(f.sink.sent[2].seq, f.sink.sent[1].seq + 1);
  EXPECT_EQ(f.sink.sent[2].ts - f.sink.sent[1].ts, 2000u * 48);
}

TEST(Room, SelfPublishedTrackIsNotSubscribable) {
  Fixture f;
  f.join(1);
  EXPECT_EQ(f.room.subscribe(1, *f.tracks[1], 5, 0, 0), nullptr);
  EXPECT_EQ(f.room.publish(1, 100, MediaKind::kAudio, 111, 48000, "1"), nullptr);  // dup SSRC
}
