#include <gtest/gtest.h>

#include <stdexcept>

#include "core/client_address.hpp"

using namespace hype;

namespace {
std::string client(const TrustedProxies& t, std::string_view peer,
                   std::vector<std::string_view> xff = {}, std::string_view real_ip = {}) {
  return t.client_address(peer, xff, real_ip);
}
}  // namespace

TEST(ClientAddress, ParsesAndNormalizesAddresses) {
  EXPECT_EQ(parse_ip("10.1.2.3")->to_string(), "10.1.2.3");
  EXPECT_EQ(parse_ip(" 10.1.2.3 ")->to_string(), "10.1.2.3");
  EXPECT_EQ(parse_ip("::ffff:10.1.2.3")->to_string(), "10.1.2.3");
  EXPECT_EQ(*parse_ip("::ffff:10.1.2.3"), *parse_ip("10.1.2.3"));
  EXPECT_EQ(parse_ip("2001:DB8:0:0::1")->to_string(), "2001:db8::1");
  EXPECT_EQ(parse_ip("[2001:db8::1]:443")->to_string(), "2001:db8::1");
  EXPECT_EQ(parse_ip("[2001:db8::1]")->to_string(), "2001:db8::1");
  EXPECT_EQ(parse_ip("192.0.2.7:5555")->to_string(), "192.0.2.7");
  for (auto bad : {"", "unknown", "1.2.3", "1.2.3.4.5", "256.1.1.1", "[::1", "[::1]x", "::g",
                   "1.2.3.4/8", "_hidden", "2001:db8::1::2"})
    EXPECT_FALSE(parse_ip(bad)) << bad;
}

TEST(ClientAddress, CidrListMatchesIpv4AndIpv6) {
  auto t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8 192.168.1.0/24,fd00::/8, 2001:db8::5");
  EXPECT_TRUE(t.contains(*parse_ip("127.0.0.1")));
  EXPECT_TRUE(t.contains(*parse_ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(t.contains(*parse_ip("127.0.0.2")));
  EXPECT_TRUE(t.contains(*parse_ip("10.255.0.1")));
  EXPECT_FALSE(t.contains(*parse_ip("11.0.0.1")));
  EXPECT_TRUE(t.contains(*parse_ip("192.168.1.200")));
  EXPECT_FALSE(t.contains(*parse_ip("192.168.2.1")));
  EXPECT_TRUE(t.contains(*parse_ip("fd12:3456::1")));
  EXPECT_FALSE(t.contains(*parse_ip("fe80::1")));
  EXPECT_TRUE(t.contains(*parse_ip("2001:db8::5")));
  EXPECT_FALSE(t.contains(*parse_ip("2001:db8::6")));
  // An IPv4 block does not swallow IPv6 space that happens to share leading zero bits.
  auto v4all = TrustedProxies::parse("0.0.0.0/0");
  EXPECT_TRUE(v4all.contains(*parse_ip("203.0.113.9")));
  EXPECT_FALSE(v4all.contains(*parse_ip("::1")));
  EXPECT_TRUE(TrustedProxies::parse("::/0").contains(*parse_ip("::1")));
  auto odd = TrustedProxies::parse("10.1.2.3/31");
  EXPECT_TRUE(odd.contains(*parse_ip("10.1.2.2")));
  EXPECT_FALSE(odd.contains(*parse_ip("10.1.2.4")));
  EXPECT_TRUE(TrustedProxies::parse("").empty());
  EXPECT_TRUE(TrustedProxies::parse(" , ").empty());
  for (auto bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/8x", "nginx", "10.0.0.0/-1",
                   "[::1]", "10.0.0.1:80"})
    EXPECT_THROW(TrustedProxies::parse(bad), std::invalid_argument) << bad;
}

TEST(ClientAddress, UntrustedPeerCannotSpoof) {
  TrustedProxies none;
  EXPECT_EQ(client(none, "198.51.100.4", {"1.2.3.4"}, "5.6.7.8"), "198.51.100.4");
  auto t = TrustedProxies::parse("127.0.0.1");
  EXPECT_EQ(client(t, "198.51.100.4", {"1.2.3.4"}, "5.6.7.8"), "198.51.100.4");
  EXPECT_EQ(client(t, "::ffff:198.51.100.4"), "198.51.100.4");
}

TEST(ClientAddress, TrustedProxyNamesTheClientRightMostUntrustedWins) {
  auto t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8");
  EXPECT_EQ(client(t, "127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(client(t, "127.0.0.1", {"203.0.113.9"}), "203.0.113.9");
  // The client wrote "1.1.1.1" itself; nginx appended what it saw.
  EXPECT_EQ(client(t, "127.0.0.1", {"1.1.1.1, 203.0.113.9"}), "203.0.113.9");
  // Two proxies: the edge (10.0.0.2) appended the client, the inner one appended the edge.
  EXPECT_EQ(client(t, "127.0.0.1", {"1.1.1.1, 203.0.113.9, 10.0.0.2"}), "203.0.113.9");
  // Several header lines are one list, in order.
  EXPECT_EQ(client(t, "127.0.0.1", {"1.1.1.1", "203.0.113.9", "10.0.0.2"}), "203.0.113.9");
  EXPECT_EQ(client(t, "127.0.0.1", {"2001:db8::7"}), "2001:db8::7");
  EXPECT_EQ(client(t, "127.0.0.1", {"[2001:db8::7]:5000"}), "2001:db8::7");
  // Every hop trusted: the left-most is as far as we can see.
  EXPECT_EQ(client(t, "127.0.0.1", {"10.0.0.3, 10.0.0.2"}), "10.0.0.3");
  // Garbage where a trusted hop wrote: keep the last address we can vouch for.
  EXPECT_EQ(client(t, "127.0.0.1", {"203.0.113.9, unknown"}), "127.0.0.1");
  EXPECT_EQ(client(t, "127.0.0.1", {"unknown, 10.0.0.2"}), "10.0.0.2");
  EXPECT_EQ(client(t, "127.0.0.1", {" , 203.0.113.9 ,"}), "203.0.113.9");
  // X-Real-IP only without X-Forwarded-For.
  EXPECT_EQ(client(t, "127.0.0.1", {}, "203.0.113.10"), "203.0.113.10");
  EXPECT_EQ(client(t, "127.0.0.1", {"203.0.113.9"}, "203.0.113.10"), "203.0.113.9");
  EXPECT_EQ(client(t, "127.0.0.1", {}, "garbage"), "127.0.0.1");
}
