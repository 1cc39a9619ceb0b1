#include <gtest/gtest.h>

#include "cluster/event_bus.hpp"

using namespace hype::cluster;

TEST(LocalEventBus, DeliversToEverySubscriberUntilUnsubscribed) {
  auto bus = make_local_event_bus();
  std::vector<std::string> a, b;
  int ia = bus->subscribe([&](const Event& e) { a.push_back(e.type); });
  bus->subscribe([&](const Event& e) { b.push_back(e.type); });
  bus->publish({"ONE", 1, 0, {}, "{}"});
  bus->unsubscribe(ia);
  bus->publish({"TWO", 1, 0, {}, "{}"});
  EXPECT_EQ(a, std::vector<std::string>{"ONE"});
  EXPECT_EQ(b, (std::vector<std::string>{"ONE", "TWO"}));
}
