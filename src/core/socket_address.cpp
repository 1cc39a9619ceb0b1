#include "core/socket_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace hype {

SocketAddress SocketAddress::v4(std::uint32_t addr, std::uint16_t port) {
  SocketAddress a;
  a.family = AddressFamily::kIPv4;
  a.port = port;
  a.ip[0] = static_cast<std::uint8_t>(addr >> 24);
  a.ip[1] = static_cast<std::uint8_t>(addr >> 16);
  a.ip[2] = static_cast<std::uint8_t>(addr >> 8);
  a.ip[3] = static_cast<std::uint8_t>(addr);
  return a;
}

SocketAddress SocketAddress::v6(const std::array<std::uint8_t, 16>& addr, std::uint16_t port) {
  SocketAddress a;
  a.family = AddressFamily::kIPv6;
  a.port = port;
  a.ip = addr;
  return a;
}

std::optional<SocketAddress> SocketAddress::parse_ip(std::string_view ip, std::uint16_t port) {
  char buf[64];
  if (ip.empty() || ip.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  SocketAddress a;
  a.port = port;
  if (inet_pton(AF_INET, buf, a.ip.data()) == 1) {
    a.family = AddressFamily::kIPv4;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.ip.data()) == 1) {
    a.family = AddressFamily::kIPv6;
    return a;
  }
  return std::nullopt;
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view s) {
  std::string_view host;
  std::string_view port_str;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return std::nullopt;
    }
    host = s.substr(1, close - 1);
    port_str = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port_str = s.substr(colon + 1);
  }
  if (port_str.empty() || port_str.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (char c : port_str) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return parse_ip(host, static_cast<std::uint16_t>(port));
}

std::string SocketAddress::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, ip.data(), buf, sizeof(buf));
  } else if (is_v6()) {
    inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf));
  }
  return buf;
}

std::string SocketAddress::to_string() const {
  // Appended rather than "[" + ip_string(): GCC 12 at -O3 reports a false -Wrestrict overlap
  // in operator+(const char*, string&&).
  std::string out;
  out.reserve(64);
  if (is_v6()) out += '[';
  out += ip_string();
  if (is_v6()) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

std::size_t SocketAddressHash::operator()(const SocketAddress& a) const noexcept {
  // FNV-1a over the fields: cheap, and addresses are not attacker-chosen keys of a big table.
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::uint8_t b) {
    h ^= b;
    h *= 1099511628211ULL;
  };
  mix(static_cast<std::uint8_t>(a.family));
  mix(static_cast<std::uint8_t>(a.port >> 8));
  mix(static_cast<std::uint8_t>(a.port));
  for (auto b : a.ip) mix(b);
  return static_cast<std::size_t>(h);
}

}  // namespace hype
