#include <gtest/gtest.h>

#include "cluster/event_bus.hpp"

using namespace hype::cluster;

TEST(LocalEventBus, DeliversToEverySubscriberUntilUnsubscribed) {
  auto bus = make_local_event_bus();
  std::vector<EventType> a, b;
  int ia = bus->subscribe([&](const Event& e) { a.push_back(e.type); });
  bus->subscribe([&](const Event& e) { b.push_back(e.type); });
  bus->publish({EventType::message_create, 1, 0, {}, "{}"});
  bus->unsubscribe(ia);
  bus->publish({EventType::typing_start, 1, 0, {}, "{}"});
  EXPECT_EQ(a, std::vector<EventType>{EventType::message_create});
  EXPECT_EQ(b, (std::vector<EventType>{EventType::message_create, EventType::typing_start}));
}

TEST(EventType, NamesAreTheDispatchNamesAndParseBack) {
  EXPECT_STREQ(event_type_name(EventType::guild_create), "GUILD_CREATE");
  EXPECT_STREQ(event_type_name(EventType::voice_state_update), "VOICE_STATE_UPDATE");
  EXPECT_STREQ(event_type_name(EventType::guild_role_delete), "GUILD_ROLE_DELETE");
  int named = 0;
  for (int i = 0; i <= static_cast<int>(EventType::voice_signal); ++i, ++named) {
    auto t = static_cast<EventType>(i);
    auto back = parse_event_type(event_type_name(t));
    ASSERT_TRUE(back.has_value()) << event_type_name(t);
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(named, 22);
  // P2P signals cross nodes on the bus too (the target may be on another gateway node).
  EXPECT_EQ(parse_event_type("VOICE_SIGNAL"), EventType::voice_signal);
  EXPECT_FALSE(parse_event_type("UNKNOWN").has_value());
  EXPECT_FALSE(parse_event_type("").has_value());
  EXPECT_FALSE(parse_event_type("message_create").has_value());
}

TEST(EventCursor, ComparesStreamIdsNumericallyAndRefusesMalformedOnes) {
  using hype::cluster::compare_cursors;
  EXPECT_EQ(compare_cursors("5-0", "5-0"), 0);
  EXPECT_EQ(compare_cursors("5-1", "5-0"), 1);
  EXPECT_EQ(compare_cursors("5-9", "5-10"), -1) << "numbers, not text";
  EXPECT_EQ(compare_cursors("99-0", "100-0"), -1);
  EXPECT_EQ(compare_cursors("0-0", "1733461200123-0"), -1);
  EXPECT_EQ(compare_cursors("9999999999999999999-0", "1-0"), 1);
  for (const char* bad :
       {"", "-", "5", "5-", "-5", "a-1", "1-a", "1-2-3", "1 -2", "99999999999999999999-0"})
    EXPECT_FALSE(compare_cursors(bad, "1-0").has_value()) << bad;
}
