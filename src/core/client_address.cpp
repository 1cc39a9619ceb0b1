#include "core/client_address.hpp"

#include <arpa/inet.h>

#include <stdexcept>

namespace hype {

namespace {

constexpr std::string_view kSpace = " \t";

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

std::optional<IpAddress> parse_plain(std::string_view s) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string z(s);  // inet_pton wants a terminated string
  IpAddress a;
  std::uint8_t v4[4];
  if (inet_pton(AF_INET, z.c_str(), v4) == 1) {
    a.bytes[10] = a.bytes[11] = 0xFF;
    for (int i = 0; i < 4; ++i) a.bytes[12 + i] = v4[i];
    return a;
  }
  if (inet_pton(AF_INET6, z.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

bool in_net(const IpAddress& a, const IpAddress& base, int prefix) {
  for (int i = 0; i < 16 && prefix > 0; ++i, prefix -= 8) {
    std::uint8_t mask = prefix >= 8 ? 0xFF : static_cast<std::uint8_t>(0xFF << (8 - prefix));
    if ((a.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

}  // namespace

bool IpAddress::is_v4() const {
  for (int i = 0; i < 10; ++i)
    if (bytes[i] != 0) return false;
  return bytes[10] == 0xFF && bytes[11] == 0xFF;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) return inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  return inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  auto s = trim(text);
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto rest = s.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    return parse_plain(s.substr(1, close - 1));
  }
  // One colon can only be IPv4 with a port; IPv6 has at least two.
  auto colon = s.find(':');
  if (colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos)
    s = s.substr(0, colon);
  return parse_plain(s);
}

TrustedProxies TrustedProxies::parse(std::string_view list) {
  TrustedProxies out;
  while (!list.empty()) {
    auto sep = list.find_first_of(", \t");
    auto item = list.substr(0, sep);
    list = sep == std::string_view::npos ? std::string_view{} : list.substr(sep + 1);
    if (item.empty()) continue;
    auto slash = item.find('/');
    auto bad = [&] {
      return std::invalid_argument("\"" + std::string(item) +
                                   "\" is not an IP address or CIDR block");
    };
    auto addr = parse_plain(item.substr(0, slash));
    if (!addr) throw bad();
    Net n{*addr, 128};
    if (slash != std::string_view::npos) {
      auto bits = item.substr(slash + 1);
      int p = 0;
      if (bits.empty() || bits.size() > 3) throw bad();
      for (char c : bits) {
        if (c < '0' || c > '9') throw bad();
        p = p * 10 + (c - '0');
      }
      int max = addr->is_v4() ? 32 : 128;
      if (p > max) throw bad();
      n.prefix = addr->is_v4() ? p + 96 : p;
    }
    out.nets_.push_back(n);
  }
  return out;
}

bool TrustedProxies::contains(const IpAddress& a) const {
  for (const auto& n : nets_)
    if (in_net(a, n.base, n.prefix)) return true;
  return false;
}

std::string TrustedProxies::client_address(std::string_view peer,
                                           const std::vector<std::string_view>& forwarded_for,
                                           std::string_view real_ip) const {
  auto peer_ip = parse_ip(peer);
  if (!peer_ip) return std::string(peer);
  if (!contains(*peer_ip)) return peer_ip->to_string();
  // Walk the hops right to left, over every X-Forwarded-For line (later lines are later hops).
  IpAddress client = *peer_ip;
  bool saw_hop = false;
  for (auto line = forwarded_for.rbegin(); line != forwarded_for.rend(); ++line) {
    std::string_view v = *line;
    while (!v.empty()) {
      auto comma = v.rfind(',');
      auto item = comma == std::string_view::npos ? v : v.substr(comma + 1);
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(0, comma);
      if (trim(item).empty()) continue;
      saw_hop = true;
      // Garbage where a trusted hop should have written its peer: keep the last address we
      // can vouch for rather than guess.
      auto hop = parse_ip(item);
      if (!hop) return client.to_string();
      client = *hop;
      if (!contains(client)) return client.to_string();
    }
  }
  if (!saw_hop) {
    // Only a single proxy sets X-Real-IP to its own peer; it is not a chain.
    if (auto r = parse_ip(real_ip)) return r->to_string();
  }
  // Every hop was a trusted proxy: the left-most one is as far as anyone can tell.
  return client.to_string();
}

}  // namespace hype
