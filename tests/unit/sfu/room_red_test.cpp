// RED (RFC 2198) audio through a room: a listener that accepted RED gets the publisher's RED
// packets in its own RED payload type; one that did not gets each packet's primary Opus frame,
// plus the frames the SFU lost from the publisher rebuilt from the next packet's redundancy,
// in order and with continuous outgoing numbers; a late original of a rebuilt packet, and a
// NACK resend, keep the same rule. Malformed RED is dropped and counted; padding-only packets
// in the RED type (bandwidth probes) are not RED: they go on, cut to one padding byte. Audio
// the SFU lost from a publisher that accepted NACK is asked for again, and the retransmission
// forwarded.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "rtc/rtp/red.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "sfu/room.hpp"

using namespace hype::sfu;
using hype::rtc::RedBlock;
using hype::rtc::RtpBuilder;
using hype::rtc::RtpPacket;

namespace {

constexpr std::uint8_t kLevelId = 1;
constexpr std::uint8_t kOpus = 111;
constexpr std::uint8_t kRed = 63;
constexpr ParticipantId kPublisher = 1;
constexpr ParticipantId kRedListener = 2;    // accepted RED as 96, Opus as 109
constexpr ParticipantId kPlainListener = 3;  // Opus 111 only

struct Sent {
  ParticipantId to;
  std::uint8_t pt;
  std::uint16_t seq;  // outgoing
  std::uint32_t ts;   // outgoing
  std::uint16_t source_seq;
  std::uint32_t source_ts;
  std::string payload;
  std::size_t padding;  // bytes of RTP padding after the payload
};

class RecordingSink : public ForwardSink {
 public:
  void forward(const Subscription& sub, const RtpPacket& pkt, const hype::rtc::PacketExtensions&,
               std::uint16_t seq, std::uint32_t ts) override {
    auto p = pkt.payload();
    sent.push_back({sub.subscriber->id, forwarded_payload_type(sub, pkt), seq, ts,
                    pkt.sequence_number(), pkt.timestamp(),
                    std::string(reinterpret_cast<const char*>(p.data()), p.size()),
                    pkt.padding_size()});
  }
  void request_keyframe(const Track&) override {}
  std::vector<Sent> to(ParticipantId id) const {
    std::vector<Sent> out;
    for (const auto& s : sent)
      if (s.to == id) out.push_back(s);
    return out;
  }
  std::vector<Sent> sent;
};

std::string frame(std::uint16_t seq) {
  return "opus-frame-" + std::to_string(seq);
}

hype::rtc::ByteSpan bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Fixture {
  Room room{1, SpeakerOptions{}, 3};
  RecordingSink sink;
  std::int64_t now_ms = 0;

  explicit Fixture(bool nack = false) {
    for (ParticipantId id : {kPublisher, kRedListener, kPlainListener}) {
      auto& p = room.add_participant(id);
      p.ext.audio_level = kLevelId;
    }
    room.participant(kRedListener)->audio_payload_type = 109;
    room.participant(kRedListener)->audio_red_payload_type = 96;
    PublishedTrack t;
    t.ssrc = 100;
    t.payload_type = kOpus;
    t.red_payload_type = kRed;
    t.nack = nack;
    t.mid = "0";
    EXPECT_NE(room.publish(kPublisher, t), nullptr);
    for (auto& q : room.participants())
      while (q->slots.size() < room.wanted_slots(q->id))
        room.add_slot(q->id, static_cast<std::uint32_t>(q->id * 1000 + q->slots.size()),
                      static_cast<std::uint16_t>(q->id * 7), 0);
    // The publisher speaks for a while, so the last-N gives it a slot at both listeners.
    std::vector<SpeakerEvent> ev;
    std::vector<ParticipantId> changed;
    for (std::uint16_t s = 0; s < 20; ++s) {
      send_plain(s);
      room.speakers().tick(now_ms, ev);
      room.update_selection(now_ms, changed);
    }
    sink.sent.clear();
  }

  void deliver(std::vector<std::uint8_t>& buf) {
    RtpPacket p;
    ASSERT_EQ(RtpPacket::parse(buf, p), hype::rtc::RtpParseStatus::kOk);
    hype::rtc::PacketExtensions ext;
    hype::rtc::index_extensions(p, room.participant(kPublisher)->ext, ext);
    room.on_rtp(*room.participant(kPublisher), p, ext, now_ms * 1000, sink);
    now_ms += 20;
  }
  std::vector<std::uint8_t> packet(std::uint8_t pt, std::uint16_t seq,
                                   hype::rtc::ByteSpan payload) {
    std::vector<std::uint8_t> buf(400);
    std::array<std::uint8_t, 1> lv{0x80 | 10};
    RtpBuilder b(buf, {pt, false, seq, 960u * seq, 100});
    b.add_extension(kLevelId, lv).payload(payload);
    buf.resize(b.finish());
    return buf;
  }
  // A padding-only packet as Chromium's pacer sends it on the audio SSRC to probe bandwidth:
  // the payload type it sent last, the last frame's timestamp, `n` bytes of padding.
  void send_padding(std::uint8_t pt, std::uint16_t seq, std::uint32_t ts, std::uint8_t n) {
    auto buf = packet(pt, seq, {});
    buf[0] |= 0x20;
    buf[4] = static_cast<std::uint8_t>(ts >> 24);
    buf[5] = static_cast<std::uint8_t>(ts >> 16);
    buf[6] = static_cast<std::uint8_t>(ts >> 8);
    buf[7] = static_cast<std::uint8_t>(ts);
    buf.insert(buf.end(), n - 1, 0);
    buf.push_back(n);
    deliver(buf);
  }
  void send_plain(std::uint16_t seq) {
    std::string f = frame(seq);
    auto buf = packet(kOpus, seq, bytes(f));
    deliver(buf);
  }
  // A RED packet as Chromium sends it: the previous `redundancy` frames, then this one's.
  void send_red(std::uint16_t seq, int redundancy = 1) {
    std::vector<std::string> frames;
    std::vector<RedBlock> blocks;
    for (int j = redundancy; j >= 1; --j) {
      if (seq < j) continue;
      frames.push_back(frame(static_cast<std::uint16_t>(seq - j)));
    }
    frames.push_back(frame(seq));
    std::size_t i = 0;
    for (int j = redundancy; j >= 1; --j) {
      if (seq < j) continue;
      blocks.push_back({kOpus, static_cast<std::uint16_t>(960 * j), bytes(frames[i++])});
    }
    blocks.push_back({kOpus, 0, bytes(frames[i])});
    std::array<std::uint8_t, 300> red{};
    std::size_t n = hype::rtc::write_red(blocks, red);
    ASSERT_GT(n, 0u);
    auto buf = packet(kRed, seq, {red.data(), n});
    deliver(buf);
  }
};

TEST(RoomRed, RedListenersGetRedAndPlainListenersGetThePrimary) {
  Fixture f;
  for (std::uint16_t s = 20; s < 25; ++s) f.send_red(s);
  auto red = f.sink.to(kRedListener);
  auto plain = f.sink.to(kPlainListener);
  ASSERT_EQ(red.size(), 5u);
  ASSERT_EQ(plain.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(red[i].pt, 96);
    hype::rtc::RedPayload parsed;
    ASSERT_EQ(hype::rtc::parse_red(bytes(red[i].payload), parsed), hype::rtc::RedParseStatus::kOk);
    EXPECT_EQ(parsed.count, 2u);
    EXPECT_EQ(plain[i].pt, kOpus);
    EXPECT_EQ(plain[i].payload, frame(static_cast<std::uint16_t>(20 + i)));
    EXPECT_EQ(plain[i].source_ts, 960u * (20 + i));
    if (i) {
      EXPECT_EQ(static_cast<std::uint16_t>(plain[i].seq - plain[i - 1].seq), 1);
    }
  }
  EXPECT_EQ(f.room.counters().red_unwrapped, 5u);
  EXPECT_EQ(f.room.counters().red_recovered, 0u);
}

TEST(RoomRed, PlainOpusFromARedPublisherGoesOutInEachListenersOpusType) {
  Fixture f;
  f.send_plain(20);
  ASSERT_EQ(f.sink.to(kRedListener).size(), 1u);
  EXPECT_EQ(f.sink.to(kRedListener)[0].pt, 109);
  EXPECT_EQ(f.sink.to(kPlainListener)[0].pt, kOpus);
  EXPECT_EQ(f.sink.to(kPlainListener)[0].payload, frame(20));
}

TEST(RoomRed, APacketLostBeforeTheSfuIsRebuiltForPlainListenersOnly) {
  Fixture f;
  f.send_red(20);
  f.send_red(21);
  f.now_ms += 20;  // 22 is lost on the way in
  f.send_red(23);
  auto plain = f.sink.to(kPlainListener);
  ASSERT_EQ(plain.size(), 4u);
  const std::uint16_t src[] = {20, 21, 22, 23};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(plain[i].source_seq, src[i]);
    EXPECT_EQ(plain[i].payload, frame(src[i]));
    EXPECT_EQ(plain[i].source_ts, 960u * src[i]);
    EXPECT_EQ(plain[i].pt, kOpus);
    if (i) {
      EXPECT_EQ(static_cast<std::uint16_t>(plain[i].seq - plain[i - 1].seq), 1);
      EXPECT_EQ(plain[i].ts - plain[i - 1].ts, 960u);
    }
  }
  // The RED listener recovers 22 from 23 itself: it gets 20, 21, 23 as sent.
  auto red = f.sink.to(kRedListener);
  ASSERT_EQ(red.size(), 3u);
  EXPECT_EQ(red[2].source_seq, 23);
  EXPECT_EQ(static_cast<std::uint16_t>(red[2].seq - red[1].seq), 2);
  EXPECT_EQ(f.room.counters().red_recovered, 1u);

  // The original of 22, late: a duplicate of what was rebuilt, sent to nobody.
  f.sink.sent.clear();
  auto late = f.packet(kRed, 22, bytes(std::string("\x6f") + frame(22)));
  f.deliver(late);
  EXPECT_TRUE(f.sink.sent.empty());
  EXPECT_EQ(f.room.counters().dropped_duplicate_audio, 1u);
}

TEST(RoomRed, OnlyWhatTheRedundancyCoversIsRebuilt) {
  Fixture f;
  f.send_red(20, 2);
  f.now_ms += 60;     // 21, 22, 23 lost
  f.send_red(24, 2);  // carries 22 and 23
  auto plain = f.sink.to(kPlainListener);
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_EQ(plain[0].source_seq, 20);
  EXPECT_EQ(plain[1].source_seq, 22);
  EXPECT_EQ(plain[1].payload, frame(22));
  EXPECT_EQ(plain[2].source_seq, 23);
  EXPECT_EQ(plain[3].source_seq, 24);
  // Outgoing numbers keep the publisher's gap where nothing could be rebuilt.
  EXPECT_EQ(static_cast<std::uint16_t>(plain[1].seq - plain[0].seq), 2);
  EXPECT_EQ(f.room.counters().red_recovered, 2u);
}

TEST(RoomRed, MalformedRedIsDroppedForEveryone) {
  Fixture f;
  const std::vector<std::uint8_t> cut = {0xEF, 0x0F, 0x00, 0x40, 0x6F, 1, 2};  // block of 64 bytes
  auto buf = f.packet(kRed, 20, cut);
  f.deliver(buf);
  // A RED packet whose primary is not the track's Opus.
  auto other = f.packet(kRed, 21, std::vector<std::uint8_t>{0x09, 1, 2, 3});
  f.deliver(other);
  EXPECT_TRUE(f.sink.sent.empty());
  EXPECT_EQ(f.room.counters().dropped_red, 2u);
}

// Chromium sends its bandwidth probes on the audio SSRC in the RED type when it sends RED
// (about one a second on a clean path). Dropped as malformed RED, each left a hole in every
// listener's sequence numbers: counted as lost, NACKed, never repaired.
TEST(RoomRed, PaddingInTheRedTypeGoesOnCutToOneByteWithoutAHole) {
  Fixture f;
  f.send_red(20);
  f.send_padding(kRed, 21, 960u * 20, 225);
  f.send_padding(kRed, 22, 960u * 20, 255);
  f.send_red(23);
  EXPECT_EQ(f.room.counters().dropped_red, 0u);
  EXPECT_EQ(f.room.counters().audio_padding, 2u);
  EXPECT_EQ(f.room.counters().red_recovered, 0u);  // nothing was lost
  for (ParticipantId id : {kRedListener, kPlainListener}) {
    auto got = f.sink.to(id);
    ASSERT_EQ(got.size(), 4u) << id;
    const std::uint8_t opus = id == kRedListener ? 109 : kOpus;
    const std::uint8_t red = id == kRedListener ? 96 : kOpus;
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(got[i].source_seq, 20 + i) << id;
      if (i > 0) {
        EXPECT_EQ(static_cast<std::uint16_t>(got[i].seq - got[i - 1].seq), 1) << id;
      }
    }
    EXPECT_EQ(got[0].pt, red) << id;
    EXPECT_EQ(got[3].pt, red) << id;
    for (std::size_t i : {1, 2}) {
      EXPECT_EQ(got[i].pt, opus) << id;  // no RED payload to describe
      EXPECT_TRUE(got[i].payload.empty()) << id;
      EXPECT_EQ(got[i].padding, 1u) << id;
      EXPECT_EQ(got[i].source_ts, 960u * 20) << id;
    }
  }
  // A NACK for it is answered with the cut copy.
  auto first = f.sink.to(kRedListener);
  f.sink.sent.clear();
  Subscription* slot = f.room.participant(kRedListener)->slots.at(0).get();
  std::array<std::uint16_t, 1> seqs{first[1].seq};
  EXPECT_EQ(f.room.on_nack(kRedListener, slot->rewriter.out_ssrc(), seqs, f.now_ms, f.sink), 1u);
  ASSERT_EQ(f.sink.sent.size(), 1u);
  EXPECT_EQ(f.sink.sent[0].seq, first[1].seq);
  EXPECT_EQ(f.sink.sent[0].padding, 1u);
}

TEST(RoomRed, PaddingInTheOpusTypeIsCutToo) {
  Fixture f;
  f.send_plain(20);
  f.send_padding(kOpus, 21, 960u * 20, 200);
  f.send_plain(22);
  auto got = f.sink.to(kPlainListener);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].source_seq, 21);
  EXPECT_TRUE(got[1].payload.empty());
  EXPECT_EQ(got[1].padding, 1u);
  EXPECT_EQ(f.room.counters().audio_padding, 1u);
}

TEST(RoomRed, ANackResendOfARedPacketToAPlainListenerIsItsPrimary) {
  Fixture f;
  f.send_red(20);
  auto first = f.sink.to(kPlainListener);
  ASSERT_EQ(first.size(), 1u);
  f.sink.sent.clear();
  Subscription* slot = f.room.participant(kPlainListener)->slots.at(0).get();
  std::array<std::uint16_t, 1> seqs{first[0].seq};
  EXPECT_EQ(f.room.on_nack(kPlainListener, slot->rewriter.out_ssrc(), seqs, f.now_ms, f.sink), 1u);
  ASSERT_EQ(f.sink.sent.size(), 1u);
  EXPECT_EQ(f.sink.sent[0].pt, kOpus);
  EXPECT_EQ(f.sink.sent[0].payload, frame(20));
  EXPECT_EQ(f.sink.sent[0].seq, first[0].seq);
  EXPECT_EQ(f.sink.sent[0].ts, first[0].ts);
}

TEST(RoomAudioNack, AudioLostFromAPublisherThatTakesNackIsAskedForAndTheRepairForwarded) {
  Fixture f(/*nack=*/true);
  Track* t = f.room.track_by_ssrc(100);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->nacked);
  f.send_plain(20);
  f.now_ms += 20;  // 21 lost
  f.send_plain(22);
  std::array<std::uint16_t, 8> asked{};
  ASSERT_EQ(t->nack.collect(f.now_ms, asked), 1u);
  EXPECT_EQ(asked[0], 21);
  // The retransmission comes late: forwarded (a jitter buffer may still play it), and asked
  // for no more.
  f.sink.sent.clear();
  f.send_plain(21);
  ASSERT_EQ(f.sink.to(kPlainListener).size(), 1u);
  EXPECT_EQ(f.sink.to(kPlainListener)[0].payload, frame(21));
  EXPECT_EQ(t->nack.collect(f.now_ms + 500, asked), 0u);
  // A second copy of it is a duplicate.
  f.send_plain(21);
  EXPECT_EQ(f.room.counters().dropped_duplicate_audio, 1u);
}

TEST(RoomAudioNack, APacketRebuiltFromRedIsNotAskedFor) {
  Fixture f(/*nack=*/true);
  f.send_red(20);
  f.now_ms += 20;
  f.send_red(22);
  std::array<std::uint16_t, 8> asked{};
  EXPECT_EQ(f.room.track_by_ssrc(100)->nack.collect(f.now_ms, asked), 0u);
  EXPECT_EQ(f.room.counters().red_recovered, 1u);
}

TEST(RoomAudioNack, NoNackForAPublisherThatDidNotAcceptIt) {
  Fixture f;
  EXPECT_FALSE(f.room.track_by_ssrc(100)->nacked);
}

}  // namespace
