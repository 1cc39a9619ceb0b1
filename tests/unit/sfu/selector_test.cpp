#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "sfu/speaker_detector.hpp"
#include "sfu/speaker_selector.hpp"

using hype::sfu::SelectorOptions;
using hype::sfu::SpeakerDetector;
using hype::sfu::SpeakerEvent;
using hype::sfu::SpeakerSelector;

namespace {

// A simulated room: `levels` says who talks (dBov, lower is louder); every 20 ms each talker
// sends a level, every 50 ms the detector and the selector tick. Time is simulated.
struct Sim {
  SpeakerDetector detector;
  SpeakerSelector selector;
  std::map<std::uint64_t, std::uint8_t> levels;
  std::int64_t now = 0;
  std::vector<SpeakerEvent> ev;
  int changes = 0;

  explicit Sim(int n, int participants, std::int64_t hold_ms = 1000)
      : selector(SelectorOptions{n, hold_ms, 6, 300}) {
    for (int i = 1; i <= participants; ++i) add(static_cast<std::uint64_t>(i));
  }
  void add(std::uint64_t id) {
    detector.add(id);
    selector.add(id);
  }
  void run_until(std::int64_t t) {
    for (; now < t; now += 10) {
      if (now % 20 == 0)
        for (auto& [id, level] : levels) detector.on_level(id, level, now);
      if (now % 50 == 0) {
        detector.tick(now, ev);
        changes += selector.update(detector, now);
      }
    }
  }
  std::set<std::uint64_t> heard_by(std::uint64_t subscriber) const {
    std::vector<std::uint64_t> v;
    selector.forwarded_to(subscriber, v);
    EXPECT_EQ(std::set<std::uint64_t>(v.begin(), v.end()).size(), v.size()) << "duplicates";
    return {v.begin(), v.end()};
  }
};

}  // namespace

TEST(SpeakerSelector, SmallRoomForwardsEveryoneWithoutSpeech) {
  Sim s(3, 4);
  s.run_until(100);
  for (std::uint64_t p = 1; p <= 4; ++p) {
    std::set<std::uint64_t> all{1, 2, 3, 4};
    all.erase(p);
    EXPECT_EQ(s.heard_by(p), all) << p;
  }
}

TEST(SpeakerSelector, EachSubscriberGetsTheThreeLoudestOthers) {
  Sim s(3, 10);
  s.run_until(200);  // the first joiners fill the places while nobody talks
  // Five talkers, none of them among the first joiners, loudest first: 10, 8, 7, 5, 3.
  s.levels = {{10, 10}, {8, 20}, {7, 30}, {5, 40}, {3, 50}};
  s.run_until(3000);
  for (std::uint64_t p = 1; p <= 10; ++p) {
    std::set<std::uint64_t> want{10, 8, 7};
    if (want.erase(p)) want.insert(5);  // a selected listener gets the next loudest instead
    EXPECT_EQ(s.heard_by(p), want) << "subscriber " << p;
    EXPECT_EQ(s.heard_by(p).count(p), 0u);
  }
  EXPECT_TRUE(s.selector.selected(5));  // the reserve
  EXPECT_FALSE(s.selector.selected(3));
  EXPECT_FALSE(s.selector.selected(1));
  // Settled: no further changes while the same people talk at the same levels.
  int before = s.changes;
  s.run_until(6000);
  EXPECT_EQ(s.changes, before);
}

TEST(SpeakerSelector, ChallengerNeedsMarginAndTime) {
  Sim s(2, 5);
  s.levels = {{1, 30}, {2, 40}, {3, 42}};  // loudness 97, 87 (primary), 85 (reserve)
  s.run_until(2000);
  ASSERT_EQ(std::set<std::uint64_t>(s.selector.primary().begin(), s.selector.primary().end()),
            (std::set<std::uint64_t>{1, 2}));
  // 4 is louder than 2 (87) and 3 (85) but not by the margin: never gets in.
  s.levels[4] = 37;  // loudness 90
  s.run_until(5000);
  EXPECT_FALSE(s.selector.selected(4));
  // Clearly louder: it displaces 2, but only after switch_hold_ms of being louder.
  s.levels[4] = 10;  // loudness 117
  std::int64_t louder_from = s.now;
  s.run_until(louder_from + 200);
  EXPECT_TRUE(s.selector.selected(2));
  EXPECT_FALSE(s.selector.selected(4));
  s.run_until(louder_from + 600);
  EXPECT_TRUE(s.selector.selected(4));
  EXPECT_EQ(s.heard_by(5), (std::set<std::uint64_t>{1, 4}));
}

TEST(SpeakerSelector, QuietSpeakerIsHeldUnlessTheSlotIsNeeded) {
  Sim s(2, 6);
  s.levels = {{1, 20}, {2, 20}};
  s.run_until(1000);
  ASSERT_TRUE(s.selector.selected(1));
  // 1 stops (DTX: no packets). With nobody else wanting its place it stays selected.
  s.levels.erase(1);
  s.run_until(6000);
  EXPECT_TRUE(s.selector.selected(1));
  EXPECT_EQ(s.heard_by(6), (std::set<std::uint64_t>{1, 2}));
  // Past the hold, a new speaker takes the quiet one's place at once.
  s.levels[4] = 20;
  s.run_until(6060);  // the first tick that sees 4 speaking
  EXPECT_TRUE(s.selector.selected(4));
  EXPECT_FALSE(s.selector.selected(1));
}

TEST(SpeakerSelector, WithinTheHoldANewSpeakerWaitsForTheSwitchHold) {
  Sim s(2, 6);
  s.levels = {{1, 20}, {2, 20}};
  s.run_until(1000);
  s.levels.erase(1);
  s.run_until(1500);  // 1 stopped speaking (silence_ms) at about 1400: within its hold
  ASSERT_FALSE(s.detector.speaking(1));
  s.levels[4] = 20;
  s.run_until(1700);
  // Primary members (1 and 2) already hear 4 through the reserve; everyone else still
  // hears 1 and 2 until 4 has been the louder one for switch_hold_ms.
  EXPECT_EQ(s.heard_by(6), (std::set<std::uint64_t>{1, 2}));
  EXPECT_EQ(s.heard_by(2), (std::set<std::uint64_t>{1, 4}));
  s.run_until(2000);
  EXPECT_EQ(s.heard_by(6), (std::set<std::uint64_t>{2, 4}));
}

TEST(SpeakerSelector, MembersKeepTheirPlaceAsLevelsShuffle) {
  Sim s(3, 8);
  s.levels = {{1, 26}, {2, 24}, {3, 28}, {4, 40}};
  s.run_until(1000);
  ASSERT_EQ(s.selector.reserve(), (std::vector<std::uint64_t>{4}));
  std::vector<std::uint64_t> primary = s.selector.primary();
  std::vector<std::uint64_t> reserve = s.selector.reserve();
  // Loudness order reverses among the selected: nothing moves.
  s.levels = {{1, 28}, {2, 26}, {3, 24}, {4, 40}};
  s.run_until(3000);
  EXPECT_EQ(s.selector.primary(), primary);
  EXPECT_EQ(s.selector.reserve(), reserve);
}

TEST(SpeakerSelector, LeaversFreeTheirPlace) {
  Sim s(2, 5);
  s.levels = {{1, 20}, {2, 20}, {3, 20}, {4, 20}};
  s.run_until(1000);
  std::uint64_t gone = s.selector.primary().front();
  s.levels.erase(gone);
  s.detector.remove(gone);
  s.selector.remove(gone);
  s.run_until(1100);
  EXPECT_EQ(s.selector.primary().size(), 2u);
  EXPECT_EQ(s.selector.reserve().size(), 1u);
  EXPECT_FALSE(s.selector.selected(gone));
  std::set<std::uint64_t> chosen(s.selector.primary().begin(), s.selector.primary().end());
  chosen.insert(s.selector.reserve().front());
  std::set<std::uint64_t> talkers{1, 2, 3, 4};
  talkers.erase(gone);
  EXPECT_EQ(chosen, talkers);
}
