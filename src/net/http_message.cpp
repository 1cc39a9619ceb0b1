#include "net/http_message.hpp"

namespace hype::net {

std::string_view HttpRequest::header(std::string_view lower_name) const {
  for (auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = part.find('=');
    std::string_view key = part.substr(0, eq);
    if (key == name) {
      if (eq == std::string_view::npos) return std::string();
      return percent_decode(part.substr(eq + 1), true);
    }
  }
  return std::nullopt;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::error(int status, std::string_view code, std::string_view message) {
  // Codes and messages here are fixed strings of ours: no escaping needed.
  return json(status, std::string("{\"error\":{\"code\":\"") + std::string(code) +
                          "\",\"message\":\"" + std::string(message) + "\"}}");
}

}  // namespace hype::net
