// Room forwarding through audio slots (last-N): only selected publishers reach subscribers,
// each subscriber's slots are stable outgoing streams whose sequence numbers stay continuous
// when the speaker behind a slot changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <vector>

#include "rtc/rtp/rtp_packet.hpp"
#include "sfu/room.hpp"

using namespace hype::sfu;
using hype::rtc::RtpBuilder;
using hype::rtc::RtpPacket;

namespace {

struct Sent {
  ParticipantId to;
  int slot;
  ParticipantId from;
  std::uint32_t ssrc;
  std::uint16_t seq;
  std::uint32_t ts;
};

class RecordingSink : public ForwardSink {
 public:
  void forward(const Subscription& sub, const RtpPacket&, const hype::rtc::PacketExtensions&,
               std::uint16_t seq, std::uint32_t ts) override {
    sent.push_back(
        {sub.subscriber->id, sub.slot, sub.track->owner->id, sub.rewriter.out_ssrc(), seq, ts});
  }
  void request_keyframe(const Track&) override {}
  std::vector<Sent> sent;
};

constexpr std::uint8_t kLevelId = 1;

struct Fixture {
  Room room;
  RecordingSink sink;
  std::map<ParticipantId, std::uint16_t> seq;
  std::vector<ParticipantId> changed;
  std::int64_t now = 0;

  explicit Fixture(int n, int participants) : room(1, SpeakerOptions{}, n) {
    for (int i = 1; i <= participants; ++i) join(static_cast<ParticipantId>(i));
  }
  void join(ParticipantId id) {
    auto& p = room.add_participant(id);
    p.ext.audio_level = kLevelId;
    room.publish(id, static_cast<std::uint32_t>(id * 100), MediaKind::kAudio, 111, 48000, "0");
    // What the worker does: grow everyone's slots to the room size.
    for (auto& q : room.participants())
      while (q->slots.size() < room.wanted_slots(q->id))
        room.add_slot(q->id, static_cast<std::uint32_t>(q->id * 1000 + q->slots.size()),
                      static_cast<std::uint16_t>(q->id * 7), 0);
  }
  void send(ParticipantId from, std::uint8_t level) {
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
    room.on_rtp(*room.participant(from), p, ext, now * 1000, sink);
  }
  // `levels` talk every 20 ms; the owner's tick runs every 50 ms.
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
  std::set<ParticipantId> sources_of(ParticipantId subscriber) {
    std::set<ParticipantId> out;
    for (auto& s : room.participant(subscriber)->slots)
      if (s->track) out.insert(s->track->owner->id);
    return out;
  }
};

}  // namespace

TEST(RoomSlots, SlotCountFollowsRoomSizeUpToN) {
  Fixture f(3, 2);
  EXPECT_EQ(f.room.participant(1)->slots.size(), 1u);
  f.join(3);
  f.join(4);
  f.join(5);
  f.join(6);
  for (ParticipantId id = 1; id <= 6; ++id) EXPECT_EQ(f.room.participant(id)->slots.size(), 3u);
  f.room.remove_participant(6);
  f.room.remove_participant(5);
  EXPECT_EQ(f.room.participant(1)->slots.size(), 3u);  // never shrink
}

TEST(RoomSlots, OnlyTheSelectedSpeakersAreForwarded) {
  Fixture f(3, 10);
  f.run(100, {});
  // Five talkers: 10 loudest, then 8, 7, 5, 3.
  std::map<ParticipantId, std::uint8_t> talk{{10, 10}, {8, 20}, {7, 30}, {5, 40}, {3, 50}};
  f.run(2000, talk);
  f.sink.sent.clear();
  std::uint64_t dropped = f.room.counters().dropped_not_selected;
  f.run(1000, talk);
  std::map<ParticipantId, std::set<ParticipantId>> got;
  for (auto& s : f.sink.sent) got[s.to].insert(s.from);
  for (ParticipantId p = 1; p <= 10; ++p) {
    std::set<ParticipantId> want{10, 8, 7};
    if (want.erase(p)) want.insert(5);
    EXPECT_EQ(got[p], want) << "subscriber " << p;
    EXPECT_EQ(f.sources_of(p), want) << "subscriber " << p;
  }
  // 3 is never forwarded: all its 50 packets of that second were dropped.
  EXPECT_EQ(f.room.counters().dropped_not_selected - dropped, 50u);
  // Every subscriber decodes 3 streams: 10 subscribers x 3 x 50 packets.
  EXPECT_EQ(f.sink.sent.size(), 10u * 3u * 50u);
}

TEST(RoomSlots, SwitchKeepsSlotAndSequenceContinuity) {
  Fixture f(2, 5);
  f.run(1000, {{1, 20}, {2, 20}});
  // Subscriber 5 hears 1 and 2; note which slot carries whom.
  auto& slots = f.room.participant(5)->slots;
  ASSERT_EQ(slots.size(), 2u);
  ASSERT_EQ(f.sources_of(5), (std::set<ParticipantId>{1, 2}));
  int slot_of_2 = slots[0]->track->owner->id == 2 ? 0 : 1;
  // 1 falls silent for good; much later 4 starts: it takes 1's slot, 2 keeps its slot.
  f.run(3000, {{2, 20}});
  std::uint64_t switches = f.room.counters().slot_switches;
  f.changed.clear();
  f.run(1000, {{2, 20}, {4, 20}});
  EXPECT_EQ(f.sources_of(5), (std::set<ParticipantId>{2, 4}));
  EXPECT_EQ(slots[static_cast<std::size_t>(slot_of_2)]->track->owner->id, 2u);
  EXPECT_GT(f.room.counters().slot_switches, switches);
  EXPECT_NE(std::find(f.changed.begin(), f.changed.end(), 5u), f.changed.end());
  // On the switched slot, out sequence numbers have no gap and no repeat from 1 to 4.
  int switched = 1 - slot_of_2;
  std::vector<Sent> on_slot;
  for (auto& s : f.sink.sent)
    if (s.to == 5 && s.slot == switched) on_slot.push_back(s);
  ASSERT_GT(on_slot.size(), 60u);
  bool saw_1 = false, saw_4 = false;
  for (std::size_t i = 1; i < on_slot.size(); ++i) {
    EXPECT_EQ(on_slot[i].ssrc, on_slot[0].ssrc);
    EXPECT_EQ(static_cast<std::uint16_t>(on_slot[i].seq - on_slot[i - 1].seq), 1) << i;
    if (on_slot[i].from != on_slot[i - 1].from) {
      EXPECT_NE(on_slot[i].ts, on_slot[i - 1].ts);  // the clock moved on
    }
    saw_1 |= on_slot[i].from == 1;
    saw_4 |= on_slot[i].from == 4;
  }
  EXPECT_TRUE(saw_1);
  EXPECT_TRUE(saw_4);
}

TEST(RoomSlots, SmallRoomForwardsEverythingFromTheStart) {
  Fixture f(3, 4);
  f.room.update_selection(0, f.changed);  // what the worker does right after a join
  EXPECT_EQ(f.changed.size(), 4u);
  f.send(1, 100);  // not even speaking: still forwarded, nobody's onset is clipped
  EXPECT_EQ(f.sink.sent.size(), 3u);
  EXPECT_EQ(f.room.counters().dropped_not_selected, 0u);
}

TEST(RoomSlots, LeaverIsReplacedAndNacksFollowTheSlot) {
  Fixture f(2, 4);
  f.run(500, {{1, 20}, {2, 20}, {3, 20}});
  ASSERT_EQ(f.sources_of(4), (std::set<ParticipantId>{1, 2}));
  f.room.remove_participant(1);
  f.changed.clear();
  f.run(100, {{2, 20}, {3, 20}});
  EXPECT_EQ(f.sources_of(4), (std::set<ParticipantId>{2, 3}));
  // A NACK on a slot is answered from its current source's cache.
  Sent last{};
  for (auto& s : f.sink.sent)
    if (s.to == 4 && s.from == 3) last = s;
  ASSERT_NE(last.ssrc, 0u);
  std::array<std::uint16_t, 1> lost{last.seq};
  EXPECT_EQ(f.room.on_nack(4, last.ssrc, lost, f.now, f.sink), 1u);
  EXPECT_EQ(f.sink.sent.back().seq, last.seq);
  EXPECT_EQ(f.sink.sent.back().ts, last.ts);
}
