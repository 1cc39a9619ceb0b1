// cluster.redis_url parsing: redis://[:password@]host[:port][/db].
#include <gtest/gtest.h>

#include "cluster/redis_client.hpp"

namespace hype::cluster {

TEST(RedisUrl, HostPortPasswordAndDatabase) {
  auto o = parse_redis_url("redis://127.0.0.1:6380/2");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "127.0.0.1");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 2);
  EXPECT_EQ(o->password, "");
  o = parse_redis_url("redis://:s3cr:et@cache.internal");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "cache.internal");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->db, 0);
  EXPECT_EQ(o->password, "s3cr:et");
  o = parse_redis_url("redis://default:pw@h:1/");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->password, "pw");
  EXPECT_EQ(o->port, 1);
}

TEST(RedisUrl, MalformedOnesAreRefused) {
  for (const char* bad :
       {"", "http://h:6379", "redis://", "redis://:6379", "redis://h:", "redis://h:0",
        "redis://h:65536", "redis://h:63x9", "redis://h/abc", "redis://h/123"})
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
}

}  // namespace hype::cluster
