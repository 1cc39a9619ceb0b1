// Text from clients that the API reads before anything else: X-Forwarded-For / X-Real-IP and
// the trusted-proxy list (core/client_address), the UTF-8 and blank-text checks, the W3C
// traceparent header (a value it accepts formats back to itself), and a JSON log line made of
// the text (always one valid JSON object whose msg is the text when that is valid UTF-8).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include <boost/json.hpp>

#include "core/client_address.hpp"
#include "core/log.hpp"
#include "core/utf8.hpp"
#include "telemetry/trace.hpp"

using namespace hype;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (is_valid_utf8(in)) {
    (void)is_blank_text(in);
    (void)utf8_length(in);
  }
  (void)parse_ip(in);
  if (auto tc = telemetry::TraceContext::parse(in); tc && tc->traceparent() != in) __builtin_trap();
  {
    static auto json_log = make_json_log_formatter();
    spdlog::details::log_msg msg("hype", spdlog::level::info,
                                 spdlog::string_view_t(in.data(), in.size()));
    spdlog::memory_buf_t line;
    json_log->format(msg, line);
    std::string_view text(line.data(), line.size());
    if (text.empty() || text.back() != '\n' || text.find('\n') != text.size() - 1) __builtin_trap();
    boost::system::error_code ec;
    auto v = boost::json::parse(text.substr(0, text.size() - 1), ec);
    if (ec || !v.is_object()) __builtin_trap();
    if (is_valid_utf8(in) && v.as_object().at("msg").as_string() != in) __builtin_trap();
  }
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
