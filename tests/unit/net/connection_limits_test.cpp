#include "net/connection_limits.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace hype::net {
namespace {

using Kind = ConnectionLimits::Kind;

TEST(ConnectionLimits, ShedsIdleHttpBeforeUnauthenticatedWebSocketsOldestFirst) {
  ConnectionLimits l(0);
  std::vector<std::string> shed;
  l.add_sheddable(Kind::kUnauthenticatedWs, [&] { shed.push_back("ws1"); });
  auto h1 = l.add_sheddable(Kind::kIdleHttp, [&] { shed.push_back("http1"); });
  l.add_sheddable(Kind::kIdleHttp, [&] { shed.push_back("http2"); });
  l.add_sheddable(Kind::kUnauthenticatedWs, [&] { shed.push_back("ws2"); });
  l.remove_sheddable(h1);  // it got a request meanwhile
  EXPECT_TRUE(l.shed_one());
  EXPECT_TRUE(l.shed_one());
  EXPECT_TRUE(l.shed_one());
  EXPECT_FALSE(l.shed_one());
  EXPECT_EQ(shed, (std::vector<std::string>{"http2", "ws1", "ws2"}));
  l.remove_sheddable(h1);  // twice, or after being shed: harmless
  l.remove_sheddable(0);
}

TEST(ConnectionLimits, CapsUnauthenticatedPerAddress) {
  ConnectionLimits l(2);
  EXPECT_TRUE(l.try_add_unauthenticated("a"));
  EXPECT_TRUE(l.try_add_unauthenticated("a"));
  EXPECT_FALSE(l.try_add_unauthenticated("a"));
  EXPECT_TRUE(l.try_add_unauthenticated("b"));
  l.remove_unauthenticated("a");
  EXPECT_EQ(l.unauthenticated("a"), 1);
  EXPECT_TRUE(l.try_add_unauthenticated("a"));
  l.remove_unauthenticated("b");
  l.remove_unauthenticated("b");  // never below zero
  EXPECT_EQ(l.unauthenticated("b"), 0);
  ConnectionLimits unlimited(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.try_add_unauthenticated("a"));
}

}  // namespace
}  // namespace hype::net
