// Which address a request comes from. Behind a reverse proxy every connection comes from the
// proxy, which names its client in X-Forwarded-For (and X-Real-IP). Those headers are anyone's
// to write, so they are believed only on a connection from a configured trusted proxy
// (server.trusted_proxies), and X-Forwarded-For is read from the right: each trusted hop
// appended the address it saw, so the right-most entry that is not itself a trusted proxy is
// the first one no one we trust could have been fooled about. What a client wrote further
// left is never looked at.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hype {

// IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so "10.0.0.1" from an IPv4 socket and
// "::ffff:10.0.0.1" from a dual-stack one are the same address and the same rate-limit key.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool is_v4() const;
  std::string to_string() const;  // dotted quad for IPv4, RFC 5952 text for IPv6
  bool operator==(const IpAddress&) const = default;
};

// Plain address text; also "[v6]", "[v6]:port" and "v4:port" as some proxies write them.
std::optional<IpAddress> parse_ip(std::string_view text);

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Comma- or space-separated addresses and CIDR blocks ("127.0.0.1, 10.0.0.0/8, fd00::/8").
  // Throws std::invalid_argument naming the first entry that is neither.
  static TrustedProxies parse(std::string_view list);

  bool empty() const { return nets_.empty(); }
  bool contains(const IpAddress& a) const;

  // The client's address for a connection from `peer` (as the socket reports it) that carried
  // these X-Forwarded-For header values (every occurrence, in order) and X-Real-IP value. The
  // result is normalized text; when nothing better is known it is `peer` itself.
  std::string client_address(std::string_view peer,
                             const std::vector<std::string_view>& forwarded_for,
                             std::string_view real_ip) const;

 private:
  struct Net {
    IpAddress base;
    int prefix = 128;  // over the 16-byte form: an IPv4 /8 is /104 here
  };
  std::vector<Net> nets_;
};

}  // namespace hype
