// NackGenerator scenarios beyond the basics in rtx_nack_test.cpp: the first wrap, reordering
// before a NACK is due, the tracking window, the jump limit, a bounded output, duplicates,
// reset, and a long lossy run across several wraps checked against a simple model.
#include "rtc/rtcp/nack_generator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <vector>

using namespace hype::rtc;

namespace {
std::vector<std::uint16_t> collect(NackGenerator& g, std::int64_t now) {
  std::array<std::uint16_t, 1024> out{};
  std::size_t n = g.collect(now, out);
  return {out.begin(), out.begin() + static_cast<long>(n)};
}
}  // namespace

TEST(NackGeneratorMore, LatePacketBeforeTheFirstAcrossTheWrap) {
  NackGenerator g;
  g.on_packet(0, 0);
  g.on_packet(65535, 0);  // older than the first packet: nothing was missing
  EXPECT_EQ(g.missing(), 0u);
  g.on_packet(2, 0);
  EXPECT_EQ(g.missing(), 1u);
  EXPECT_EQ(collect(g, 0), std::vector<std::uint16_t>{1});
}

TEST(NackGeneratorMore, ReorderedBeforeDueIsNeverAsked) {
  NackGenerator g;
  g.on_packet(10, 0);
  g.on_packet(12, 1);
  g.on_packet(11, 2);
  EXPECT_EQ(g.missing(), 0u);
  EXPECT_TRUE(collect(g, 5).empty());
}

TEST(NackGeneratorMore, GapsLeavingTheWindowAreForgotten) {
  NackGenerator g({16, 1000, 10, 20});
  g.on_packet(0, 0);
  g.on_packet(10, 0);  // 1-9 missing
  g.on_packet(20, 0);  // 11-19 missing; 1-3 now more than 16 behind
  EXPECT_EQ(g.missing(), 15u);
  auto asked = collect(g, 0);
  ASSERT_EQ(asked.size(), 15u);
  EXPECT_EQ(asked.front(), 4);
  EXPECT_EQ(asked.back(), 19);
  g.on_packet(3, 1);  // too late to matter: no effect
  EXPECT_EQ(g.missing(), 15u);
}

TEST(NackGeneratorMore, JumpLimitIsMaxPackets) {
  NackGenerator g({16, 1000, 10, 20});
  g.on_packet(0, 0);
  g.on_packet(16, 0);  // a gap of 15: tracked
  EXPECT_EQ(g.missing(), 15u);
  g.on_packet(33, 0);  // 17 ahead: a restart, nothing asked
  EXPECT_EQ(g.missing(), 0u);
  EXPECT_TRUE(collect(g, 100).empty());
  g.on_packet(35, 1);
  EXPECT_EQ(collect(g, 100), std::vector<std::uint16_t>{34});
}

TEST(NackGeneratorMore, OutputIsBoundedAndOldestFirst) {
  NackGenerator g;
  g.on_packet(100, 0);
  g.on_packet(111, 0);  // 101-110
  std::array<std::uint16_t, 4> out{};
  ASSERT_EQ(g.collect(0, out), 4u);
  EXPECT_EQ(out[0], 101);
  EXPECT_EQ(out[3], 104);
  ASSERT_EQ(g.collect(0, out), 4u);  // the rest, still due
  EXPECT_EQ(out[0], 105);
  ASSERT_EQ(g.collect(0, out), 2u);
  EXPECT_EQ(out[1], 110);
  EXPECT_EQ(g.collect(0, out), 0u);
  EXPECT_EQ(g.collect(0, std::span<std::uint16_t>{}), 0u);
}

TEST(NackGeneratorMore, DuplicatesAndReset) {
  NackGenerator g;
  g.on_packet(1, 0);
  g.on_packet(4, 0);
  g.on_packet(4, 0);
  g.on_packet(1, 0);
  EXPECT_EQ(g.missing(), 2u);
  g.on_packet(2, 1);
  g.on_packet(2, 1);
  EXPECT_EQ(g.missing(), 1u);
  g.reset();
  EXPECT_EQ(g.missing(), 0u);
  EXPECT_TRUE(collect(g, 100).empty());
  g.on_packet(60000, 200);  // a fresh start anywhere
  g.on_packet(60002, 200);
  EXPECT_EQ(collect(g, 200), std::vector<std::uint16_t>{60001});
}

TEST(NackGeneratorMore, AgeLimitWinsOverRetriesLeft) {
  NackGenerator g({256, 100, 10, 20});
  g.on_packet(1, 0);
  g.on_packet(3, 0);
  EXPECT_EQ(collect(g, 0).size(), 1u);
  EXPECT_EQ(collect(g, 50).size(), 1u);
  EXPECT_EQ(collect(g, 100).size(), 1u);  // exactly max_age: still asked
  EXPECT_TRUE(collect(g, 130).empty());
  EXPECT_EQ(g.missing(), 0u);
}

TEST(NackGeneratorMore, DegenerateOptionsStillWork) {
  NackGenerator g({0, 1000, 10, 0});  // max_packets clamped to 1
  g.on_packet(5, 0);
  g.on_packet(7, 0);  // 2 ahead: more than 1, a restart
  EXPECT_EQ(g.missing(), 0u);
  g.on_packet(8, 0);
  EXPECT_EQ(g.missing(), 0u);
}

// 200k packets (three wraps), every 7th lost and every 3rd loss repaired 2 packets later;
// each tick the NACKs must be exactly the losses still open within max_age.
TEST(NackGeneratorMore, LongLossyRunMatchesAModel) {
  NackGenerator g({256, 1000, 1000, 20});
  std::set<std::int64_t> open;  // lost, not repaired (extended sequence numbers)
  std::vector<std::int64_t> repair_at;
  std::int64_t now = 0;
  std::size_t asked_total = 0;
  std::int64_t newest = 0;  // the newest packet received
  for (std::int64_t ext = 40000, i = 0; i < 200000; ++ext, ++i) {
    if (i % 10 == 0) now += 1;  // 10 packets a ms
    const auto seq = static_cast<std::uint16_t>(ext & 0xFFFF);
    const bool lost = i > 0 && i % 7 == 0;
    if (!lost) {
      g.on_packet(seq, now);
      newest = ext;
    }
    if (lost) {
      open.insert(ext);
      if (i % 21 == 0) repair_at.push_back(ext);
    }
    // A repair arrives two packets after its loss.
    for (auto it = repair_at.begin(); it != repair_at.end();) {
      if (*it + 2 == ext) {
        g.on_packet(static_cast<std::uint16_t>(*it & 0xFFFF), now);
        open.erase(*it);
        it = repair_at.erase(it);
      } else {
        ++it;
      }
    }
    if (i % 50 == 49) {
      // Losses within the window, max_packets behind the newest packet received (never past
      // max_age here: 256 packets are 26 ms).
      while (!open.empty() && *open.begin() < newest - 256) open.erase(open.begin());
      // A loss after the newest packet is not known yet.
      const auto known = static_cast<std::size_t>(
          std::count_if(open.begin(), open.end(), [&](std::int64_t x) { return x < newest; }));
      ASSERT_EQ(g.missing(), known) << i;
      auto asked = collect(g, now);
      asked_total += asked.size();
      for (auto s : asked) ASSERT_TRUE(open.count(ext - ((ext - s) & 0xFFFF))) << s;
    }
  }
  EXPECT_GT(asked_total, 10000u);
}
