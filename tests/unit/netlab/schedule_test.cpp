// Scheduled profiles switch at the right times, per direction, and keep order across a switch.
#include <gtest/gtest.h>

#include <stdexcept>

#include "netlab/schedule.hpp"

using namespace hype::netlab;

TEST(NetlabSchedule, SwitchesAtTheRightTimes) {
  Impairment d20, d80;
  d20.delay_ms = 20;
  d80.delay_ms = 80;
  const std::int64_t start = 5'000'000;
  ScheduledLink link(Impairment{}, {{1000, d20}, {3000, d80}, {4000, Impairment{}}}, 1, start);
  auto delay_at = [&](std::int64_t ms) {
    auto v = link.decide(start + ms * 1000, 100);
    return v.release_us - (start + ms * 1000);
  };
  EXPECT_EQ(delay_at(0), 0);
  EXPECT_EQ(delay_at(999), 0);
  EXPECT_EQ(delay_at(1000), 20000);
  EXPECT_EQ(delay_at(2999), 20000);
  EXPECT_EQ(delay_at(3000), 80000);
  EXPECT_EQ(link.steps_applied(), 2u);
  // Back to no delay at 4 s, but without reordering: the packet waits for the one before.
  auto v = link.decide(start + 4'000'000, 100);
  EXPECT_EQ(v.release_us,
            start + 3'080'000 > start + 4'000'000 ? start + 3'080'000 : start + 4'000'000);
  EXPECT_EQ(delay_at(4100), 0);
  EXPECT_EQ(link.steps_applied(), 3u);
}

TEST(NetlabSchedule, NoReorderAcrossADelayDrop) {
  Impairment slow, fast;
  slow.delay_ms = 200;
  ScheduledLink link(slow, {{100, fast}}, 1, 0);
  auto a = link.decide(99'000, 100);   // released at 299 ms
  auto b = link.decide(100'000, 100);  // would be 100 ms: held behind a
  EXPECT_EQ(a.release_us, 299'000);
  EXPECT_EQ(b.release_us, 299'000);
}

TEST(NetlabSchedule, ParsesFiles) {
  auto s = parse_schedule(
      "# warm up clean, then mobile both ways, then a bursty uplink\n"
      "\n"
      "0 both clean\n"
      "5000 both mobile\n"
      "10000 up bursty,rate=300   # trailing comment\n"
      "12000 down delay=10\n");
  ASSERT_EQ(s.up.size(), 3u);
  ASSERT_EQ(s.down.size(), 3u);
  EXPECT_EQ(s.up[1].at_ms, 5000);
  EXPECT_EQ(s.up[1].impairment.loss, 0.02);
  EXPECT_EQ(s.up[2].impairment.rate_kbps, 300);
  EXPECT_EQ(s.down[2].at_ms, 12000);
  EXPECT_EQ(s.down[2].impairment.delay_ms, 10);
  for (const char* bad : {"x both clean", "10 sideways clean", "10 both lan", "10\n",
                          "20 up clean\n10 both clean", "-5 up clean"})
    EXPECT_THROW(parse_schedule(bad), std::invalid_argument) << bad;
}
