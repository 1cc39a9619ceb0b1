// Room through its typed Endpoint seam (what a Transport or an HLS tap implements): packets,
// resends and keyframe requests reach the members' endpoints with no sink given; NACK/PLI
// find their subscription through the SSRC index, also after leaves and unpublishes; drops,
// NACKs, PLIs and slot switches land in the owner's SfuCounters without diffing.
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

constexpr std::uint8_t kLevelId = 1;

class FakeEndpoint final : public Endpoint {
 public:
  struct Sent {
    std::uint32_t out_ssrc;
    int slot;
    std::uint32_t src_ssrc;
    std::uint16_t seq;
    std::uint32_t ts;
  };
  void send_rtp(const Subscription& sub, const RtpPacket& source,
                const hype::rtc::PacketExtensions&, std::uint16_t seq, std::uint32_t ts) override {
    sent.push_back({sub.rewriter.out_ssrc(), sub.slot, source.ssrc(), seq, ts});
  }
  void request_keyframe(std::uint32_t ssrc) override { keyframes.push_back(ssrc); }
  std::vector<Sent> sent;
  std::vector<std::uint32_t> keyframes;
};

struct Fixture {
  SfuCounters node;
  Room room{1, SpeakerOptions{}, 3, &node};
  std::map<ParticipantId, FakeEndpoint> endpoints;
  std::map<ParticipantId, std::uint16_t> seq;
  std::vector<ParticipantId> changed;
  std::int64_t now = 0;

  void join(ParticipantId id, bool publish = true) {
    auto& p = room.add_participant(id);
    p.ext.audio_level = kLevelId;
    p.endpoint = &endpoints[id];
    if (publish)
      room.publish(id, static_cast<std::uint32_t>(id * 100), MediaKind::kAudio, 111, 48000, "0");
    for (auto& q : room.participants())
      while (q->slots.size() < room.wanted_slots(q->id))
        room.add_slot(q->id, static_cast<std::uint32_t>(q->id * 1000 + q->slots.size()), 0, 0);
  }
  void send(ParticipantId from, std::uint8_t level = 20) {
    std::vector<std::uint8_t> buf(200);
    std::array<std::uint8_t, 1> lv{static_cast<std::uint8_t>(0x80 | level)};
    std::array<std::uint8_t, 40> payload{};
    std::uint16_t q = seq[from]++;
    RtpBuilder b(buf, {111, false, q, q * 960u, static_cast<std::uint32_t>(from * 100)});
    b.add_extension(kLevelId, lv).payload(payload);
    buf.resize(b.finish());
    RtpPacket p;
    ASSERT_EQ(RtpPacket::parse(buf, p), hype::rtc::RtpParseStatus::kOk);
    hype::rtc::PacketExtensions ext;
    hype::rtc::index_extensions(p, room.participant(from)->ext, ext);
    room.on_rtp(*room.participant(from), p, ext, now * 1000);  // no sink: the endpoints
  }
  void run(std::int64_t ms, const std::map<ParticipantId, std::uint8_t>& levels) {
    std::vector<SpeakerEvent> ev;
    for (std::int64_t end = now + ms; now < end; now += 10) {
      if (now % 20 == 0)
        for (auto& [id, level] : levels) send(id, level);
      if (now % 50 == 0) {
        room.speakers().tick(now, ev);
        room.update_selection(now, changed);
      }
    }
  }
};

}  // namespace

TEST(RoomEndpoints, SlotsDeliverToTheSubscribersEndpoint) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.join(3, false);  // a listen-only egress (what an HLS tap is)
  f.run(1000, {{1, 20}});
  ASSERT_FALSE(f.endpoints[2].sent.empty());
  ASSERT_FALSE(f.endpoints[3].sent.empty());
  EXPECT_TRUE(f.endpoints[1].sent.empty());  // never its own voice
  for (auto& s : f.endpoints[3].sent) {
    EXPECT_EQ(s.src_ssrc, 100u);
    EXPECT_EQ(s.slot, 0);
    EXPECT_EQ(s.out_ssrc, 3000u);
  }
  EXPECT_GE(f.node.slot_switches.load(), 2u);
  EXPECT_EQ(f.node.slot_switches.load(), f.room.counters().slot_switches);
}

TEST(RoomEndpoints, NackAndPliGoThroughTheIndexToEndpoints) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.run(1000, {{1, 20}});
  auto& to2 = f.endpoints[2].sent;
  ASSERT_GE(to2.size(), 3u);
  auto last = to2.back();
  std::uint16_t seqs[] = {last.seq, static_cast<std::uint16_t>(last.seq + 5)};
  to2.clear();
  EXPECT_EQ(f.room.on_nack(2, 2000, seqs, f.now), 1u);
  ASSERT_EQ(to2.size(), 1u);
  EXPECT_EQ(to2[0].seq, last.seq);
  EXPECT_EQ(to2[0].ts, last.ts);
  EXPECT_EQ(f.node.nacks.load(), 2u);
  EXPECT_EQ(f.node.nack_hits.load(), 1u);

  EXPECT_TRUE(f.room.on_keyframe_request(2, 2000, f.now));
  EXPECT_FALSE(f.room.on_keyframe_request(2, 2000, f.now + 1));  // throttled per track
  EXPECT_EQ(f.endpoints[1].keyframes, std::vector<std::uint32_t>{100});
  EXPECT_EQ(f.node.plis.load(), 2u);
  // Someone else's outgoing SSRC, or an unknown one, finds nothing.
  EXPECT_EQ(f.room.on_nack(1, 2000, seqs, f.now), 0u);
  EXPECT_FALSE(f.room.on_keyframe_request(2, 4242, f.now + 5000));
}

TEST(RoomEndpoints, IndexFollowsLeavesAndUnpublishes) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.join(3);
  Track* t1 = f.room.track_by_ssrc(100);
  ASSERT_NE(t1, nullptr);
  ASSERT_NE(f.room.subscribe(2, *t1, 9000, 0, 0), nullptr);  // a per-publisher subscription
  EXPECT_NE(f.room.subscription(2, 9000), nullptr);
  EXPECT_NE(f.room.subscription(2, 2000), nullptr);  // its slot
  EXPECT_EQ(f.room.subscription(3, 9000), nullptr);

  f.room.remove_participant(1);  // its track and the subscriptions to it go
  EXPECT_EQ(f.room.track_by_ssrc(100), nullptr);
  EXPECT_EQ(f.room.subscription(2, 9000), nullptr);
  EXPECT_NE(f.room.subscription(2, 2000), nullptr);
  std::uint16_t seqs[] = {1};
  EXPECT_EQ(f.room.on_nack(2, 9000, seqs, 0), 0u);

  f.room.unpublish(300);
  EXPECT_EQ(f.room.track_by_ssrc(300), nullptr);
  // The SSRC is free again, for anyone.
  EXPECT_NE(f.room.publish(2, 300, MediaKind::kVideo, 96, 90000, "1"), nullptr);
  EXPECT_EQ(f.room.track_by_ssrc(300)->owner->id, 2u);
  EXPECT_EQ(f.room.publish(3, 300, MediaKind::kAudio, 111, 48000, "0"), nullptr);

  f.room.remove_participant(2);
  EXPECT_EQ(f.room.subscription(2, 2000), nullptr);
  EXPECT_EQ(f.room.track_by_ssrc(300), nullptr);
}

TEST(RoomEndpoints, DropsAreCountedInTheNodeCounters) {
  Fixture f;
  for (ParticipantId id = 1; id <= 6; ++id) f.join(id);
  // Four talk, three slots: one is not selected.
  f.run(2000, {{1, 10}, {2, 20}, {3, 30}, {4, 40}});
  EXPECT_GT(f.node.dropped_not_selected.load(), 0u);
  EXPECT_EQ(f.node.dropped_not_selected.load(), f.room.counters().dropped_not_selected);
  f.room.set_server_mute(1, true);
  f.send(1);
  f.send(1);
  EXPECT_EQ(f.node.dropped_muted.load(), 2u);
  EXPECT_EQ(f.room.counters().dropped_muted, 2u);
}

TEST(RoomEndpoints, MemberWithoutEndpointGetsNothing) {
  Fixture f;
  f.join(1);
  f.join(2);
  f.room.participant(2)->endpoint = nullptr;  // e.g. its transport is going away
  f.run(1000, {{1, 20}});
  EXPECT_TRUE(f.endpoints[2].sent.empty());
  EXPECT_GT(f.room.counters().forwarded_packets, 0u);  // the room still decided
}
