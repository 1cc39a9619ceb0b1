#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "core/clock.hpp"
#include "core/ids.hpp"

using namespace hype;

TEST(Snowflake, MonotonicAndUniqueAcrossThreads) {
  SnowflakeGenerator gen(5);
  std::vector<std::vector<Id>> per_thread(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) per_thread[t].push_back(gen.next());
    });
  for (auto& th : threads) th.join();
  std::set<Id> all;
  for (auto& v : per_thread) {
    for (std::size_t i = 1; i < v.size(); ++i) ASSERT_LT(v[i - 1], v[i]);
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), 80000u);
}

TEST(Snowflake, EncodesTimeAndNode) {
  SnowflakeGenerator gen(1023);
  auto before = unix_ms();
  Id id = gen.next();
  auto after = unix_ms();
  EXPECT_GT(id, 0);
  EXPECT_EQ(SnowflakeGenerator::node_of(id), 1023);
  EXPECT_GE(SnowflakeGenerator::timestamp_ms(id), before);
  EXPECT_LE(SnowflakeGenerator::timestamp_ms(id), after);
  EXPECT_THROW(SnowflakeGenerator(1024), std::invalid_argument);
}

TEST(Ids, ParseRejectsAnythingButPositiveDecimal) {
  EXPECT_EQ(parse_id("123"), 123);
  EXPECT_EQ(parse_id("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(parse_id(""));
  EXPECT_FALSE(parse_id("0"));
  EXPECT_FALSE(parse_id("-5"));
  EXPECT_FALSE(parse_id("+5"));
  EXPECT_FALSE(parse_id("12a"));
  EXPECT_FALSE(parse_id(" 12"));
  EXPECT_FALSE(parse_id("9223372036854775808"));
  EXPECT_FALSE(parse_id("99999999999999999999"));
}
