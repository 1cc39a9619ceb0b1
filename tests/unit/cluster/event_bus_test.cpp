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
