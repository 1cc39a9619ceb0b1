// SocketAddress: an IPv4/IPv6 address and port as a plain value, shared by rtc (pure protocol
// code: ICE keys candidate pairs by it) and net (the UDP socket converts it to and from
// sockaddr), so neither depends on the other. It never touches a socket itself. It is
// trivially copyable and hashable for lookups on the hot path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hype {

enum class AddressFamily : std::uint8_t { kNone = 0, kIPv4 = 4, kIPv6 = 6 };

struct SocketAddress {
  AddressFamily family = AddressFamily::kNone;
  std::uint16_t port = 0;
  // IPv4 uses the first 4 bytes; the rest stay zero so == and hashing need no branches.
  std::array<std::uint8_t, 16> ip{};

  static SocketAddress v4(std::uint32_t addr_host_order, std::uint16_t port);
  static SocketAddress v6(const std::array<std::uint8_t, 16>& addr, std::uint16_t port);
  // "1.2.3.4" or "::1" (no port); nullopt when malformed.
  static std::optional<SocketAddress> parse_ip(std::string_view ip, std::uint16_t port);
  // "1.2.3.4:5000" or "[::1]:5000".
  static std::optional<SocketAddress> parse(std::string_view host_port);

  bool is_v4() const { return family == AddressFamily::kIPv4; }
  bool is_v6() const { return family == AddressFamily::kIPv6; }
  bool valid() const { return family != AddressFamily::kNone; }
  std::string ip_string() const;
  std::string to_string() const;  // with port, IPv6 in brackets

  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
};

struct SocketAddressHash {
  std::size_t operator()(const SocketAddress& a) const noexcept;
};

}  // namespace hype
