#include <gtest/gtest.h>

#include "net/http_message.hpp"

using namespace hype::net;

TEST(HttpMessage, QueryParamsAreDecoded) {
  HttpRequest r;
  r.query = "before=123&name=a%20b+c&empty=&flag";
  EXPECT_EQ(r.query_param("before"), "123");
  EXPECT_EQ(r.query_param("name"), "a b c");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_FALSE(r.query_param("missing"));
}

TEST(HttpMessage, PercentDecodeRejectsBadEscapes) {
  EXPECT_EQ(percent_decode("%41%62", false), "Ab");
  EXPECT_FALSE(percent_decode("%4", false));
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_FALSE(percent_decode("%zz", false));
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
}
