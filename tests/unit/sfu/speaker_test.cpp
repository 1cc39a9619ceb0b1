#include <gtest/gtest.h>

#include <vector>

#include "sfu/speaker_detector.hpp"

using hype::sfu::SpeakerDetector;
using hype::sfu::SpeakerEvent;

namespace {

// Feeds `level` for participant every 20 ms over [from, to) and ticks every 50 ms.
void talk(SpeakerDetector& d, std::uint64_t who, std::uint8_t level, std::int64_t from,
          std::int64_t to, std::vector<SpeakerEvent>& ev) {
  for (std::int64_t t = from; t < to; t += 10) {
    if (t % 20 == 0) d.on_level(who, level, t);
    if (t % 50 == 0) d.tick(t, ev);
  }
}

}  // namespace

TEST(SpeakerDetector, SpeakingStartsAndStopsWithDtxSilence) {
  SpeakerDetector d;
  d.add(1);
  std::vector<SpeakerEvent> ev;
  talk(d, 1, 30, 0, 500, ev);  // loud (-30 dBov)
  EXPECT_TRUE(d.speaking(1));
  EXPECT_EQ(d.active_speaker(), 1u);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, SpeakerEvent::Type::kSpeaking);
  EXPECT_TRUE(ev[0].speaking);
  EXPECT_EQ(ev[1].type, SpeakerEvent::Type::kActiveSpeaker);
  ev.clear();
  // DTX: no packets at all. After silence_ms the participant stops speaking.
  d.tick(700, ev);
  EXPECT_TRUE(d.speaking(1));
  d.tick(1000, ev);
  EXPECT_FALSE(d.speaking(1));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].speaking);
  EXPECT_EQ(d.active_speaker(), 1u);  // highlight stays on the last speaker
}

TEST(SpeakerDetector, QuietBackgroundIsNotSpeech) {
  SpeakerDetector d;
  d.add(1);
  std::vector<SpeakerEvent> ev;
  talk(d, 1, 110, 0, 1000, ev);  // -110 dBov comfort noise
  EXPECT_FALSE(d.speaking(1));
  EXPECT_TRUE(ev.empty());
}

TEST(SpeakerDetector, LouderSpeakerTakesOverAfterHold) {
  SpeakerDetector d;
  d.add(1);
  d.add(2);
  std::vector<SpeakerEvent> ev;
  talk(d, 1, 60, 0, 300, ev);
  EXPECT_EQ(d.active_speaker(), 1u);
  // Both talk; 2 is much louder. It must hold the lead for switch_hold_ms before taking over.
  std::int64_t switched_at = -1;
  for (std::int64_t t = 300; t < 1200; t += 10) {
    if (t % 20 == 0) {
      d.on_level(1, 60, t);
      d.on_level(2, 20, t);
    }
    if (t % 50 == 0) {
      d.tick(t, ev);
      if (switched_at < 0 && d.active_speaker() == 2) switched_at = t;
    }
  }
  EXPECT_EQ(d.active_speaker(), 2u);
  EXPECT_GE(switched_at, 600);
}

TEST(SpeakerDetector, SimilarLoudnessDoesNotFlicker) {
  SpeakerDetector d;
  d.add(1);
  d.add(2);
  std::vector<SpeakerEvent> ev;
  talk(d, 1, 40, 0, 200, ev);
  for (std::int64_t t = 200; t < 3000; t += 10) {
    if (t % 20 == 0) {
      d.on_level(1, static_cast<std::uint8_t>(40 + (t / 20) % 3), t);
      d.on_level(2, static_cast<std::uint8_t>(39 + (t / 40) % 3), t);
    }
    if (t % 50 == 0) d.tick(t, ev);
  }
  EXPECT_EQ(d.active_speaker(), 1u);
}

TEST(SpeakerDetector, RemovingActiveSpeakerElectsNext) {
  SpeakerDetector d;
  d.add(1);
  d.add(2);
  std::vector<SpeakerEvent> ev;
  talk(d, 1, 30, 0, 200, ev);
  EXPECT_EQ(d.active_speaker(), 1u);
  d.remove(1);
  ev.clear();
  talk(d, 2, 50, 200, 400, ev);
  EXPECT_EQ(d.active_speaker(), 2u);
}

TEST(SpeakerDetector, TenAndTwentyMsPacketsSmoothAlike) {
  // The same voice (loud, then quiet from 200 ms) in 10 ms and in 20 ms packets: once both
  // streams carried the same audio, their loudness is the same. It follows time, not the
  // packet count.
  auto level = [](std::int64_t t) -> std::uint8_t { return t < 200 ? 30 : 90; };  // 97, then 37
  SpeakerDetector d10, d20;
  d10.add(1);
  d20.add(1);
  for (std::int64_t t = 0; t <= 400; t += 20) {
    d20.on_level(1, level(t), t);  // [t, t + 20)
    d10.on_level(1, level(t), t);  // [t, t + 10)
    d10.on_level(1, level(t + 10), t + 10);
    EXPECT_NEAR(d10.loudness(1), d20.loudness(1), 0.5) << t << " ms";
  }
  // (Weighting per packet, the 10 ms stream moved twice as far: 66.4 against 79 at 200 ms.)
}
