// Text from clients that the API reads before anything else: X-Forwarded-For / X-Real-IP and
// the trusted-proxy list (core/client_address), and the UTF-8 and blank-text checks.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "core/client_address.hpp"
#include "core/utf8.hpp"

using namespace hype;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (is_valid_utf8(in)) {
    (void)is_blank_text(in);
    (void)utf8_length(in);
  }
  (void)parse_ip(in);
  // First line: proxy list; the rest: header values, one per line, the last as X-Real-IP.
  auto nl = in.find('\n');
  TrustedProxies proxies;
  try {
    proxies = TrustedProxies::parse(in.substr(0, nl));
  } catch (const std::invalid_argument&) {
    proxies = TrustedProxies::parse("127.0.0.0/8, ::1, 10.0.0.0/8");
  }
  std::vector<std::string_view> lines;
  for (auto rest = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
       !rest.empty();) {
    auto e = rest.find('\n');
    lines.push_back(rest.substr(0, e));
    rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 1);
  }
  std::string_view real_ip = lines.empty() ? std::string_view{} : lines.back();
  std::string client = proxies.client_address("127.0.0.1", lines, real_ip);
  if (client.empty() || !parse_ip(client)) __builtin_trap();  // always an address
  return 0;
}
