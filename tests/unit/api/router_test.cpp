#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/router.hpp"

using namespace hype::api;

TEST(Router, MatchesParamsAndMethods) {
  Router r;
  auto h = [](Context&) { return boost::json::value(); };
  r.add("GET", "/api/v1/channels/:id/messages", true, RateClass::none, h);
  r.add("POST", "/api/v1/channels/:id/messages", true, RateClass::messages, h);
  r.add("PATCH", "/api/v1/channels/:id/messages/:mid", true, RateClass::none, h);
  auto m = r.match("POST", "/api/v1/channels/123/messages");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->rate, RateClass::messages);
  EXPECT_EQ(m.params, std::vector<std::string>{"123"});
  auto m2 = r.match("PATCH", "/api/v1/channels/1/messages/2");
  ASSERT_TRUE(m2.route);
  EXPECT_EQ(m2.params, (std::vector<std::string>{"1", "2"}));
  auto head = r.match("HEAD", "/api/v1/channels/1/messages");
  EXPECT_TRUE(head.route) << "HEAD falls back to GET";
  auto wrong = r.match("DELETE", "/api/v1/channels/1/messages");
  EXPECT_FALSE(wrong.route);
  EXPECT_TRUE(wrong.path_matched);
  auto none = r.match("GET", "/api/v1/nothing");
  EXPECT_FALSE(none.route);
  EXPECT_FALSE(none.path_matched);
}

TEST(Router, FlagsParamsNoStoreCanHold) {
  Router r;
  auto h = [](Context&) { return boost::json::value(); };
  r.add("GET", "/api/v1/invites/:code", true, RateClass::none, h);
  EXPECT_FALSE(r.match("GET", "/api/v1/invites/abcDEF12").bad_param);
  EXPECT_FALSE(r.match("GET", "/api/v1/invites/caf\xC3\xA9").bad_param);
  for (std::string bad :
       {std::string("/api/v1/invites/\0abc", 20),
        std::string("/api/v1/invites/\xFF"
                    "abc"),
        std::string("/api/v1/invites/\xC0\xAF"), std::string("/api/v1/invites/\xED\xA0\x80"),
        std::string("/api/v1/invites/a\nb"), std::string("/api/v1/invites/a\x7F")}) {
    auto m = r.match("GET", bad);
    ASSERT_TRUE(m.route) << bad;
    EXPECT_TRUE(m.bad_param) << bad;
  }
}
