#include "net/http_framing.hpp"

#include <vector>

namespace hype::net {

namespace {

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::size_t skip_leading_crlf(std::string_view s) {
  std::size_t i = 0;
  while (i + 1 < s.size() && s[i] == '\r' && s[i + 1] == '\n') i += 2;
  return i;
}

}  // namespace

std::size_t header_block_end(std::string_view buffer) {
  std::size_t start = skip_leading_crlf(buffer);
  auto pos = buffer.find("\r\n\r\n", start);
  return pos == std::string_view::npos ? pos : pos + 4;
}

std::optional<std::string> framing_error(std::string_view block) {
  block.remove_prefix(skip_leading_crlf(block));
  auto eol = block.find("\r\n");
  if (eol == std::string_view::npos) return std::nullopt;  // Beast reports what is left
  std::string_view request_line = block.substr(0, eol);
  bool http10 =
      request_line.size() >= 8 && request_line.substr(request_line.size() - 8) == "HTTP/1.0";
  std::size_t pos = eol + 2;
  bool has_te = false, has_cl = false;
  std::vector<std::string_view> codings;
  while (pos < block.size()) {
    eol = block.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = block.size();
    std::string_view line = block.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;
    if (is_ows(line.front())) return "obs-fold (a header line starting with whitespace)";
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a field: Beast refuses it
    std::string_view name = line.substr(0, colon);
    if (!name.empty() && is_ows(name.back()))
      return "whitespace between a header name and its colon";
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      has_cl = true;
    } else if (iequals(name, "transfer-encoding")) {
      has_te = true;
      // Several field lines form one comma-separated list (RFC 9110 5.3).
      while (!value.empty()) {
        auto comma = value.find(',');
        std::string_view item = trim(value.substr(0, comma));
        if (!item.empty()) codings.push_back(item);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
      }
    }
  }
  if (!has_te) return std::nullopt;
  if (has_cl) return "Transfer-Encoding together with Content-Length";
  if (http10) return "Transfer-Encoding in an HTTP/1.0 request";
  if (codings.empty()) return "empty Transfer-Encoding";
  if (!iequals(codings.back(), "chunked")) return "the final transfer coding is not chunked";
  if (codings.size() > 1) return "unsupported transfer coding (only chunked is accepted)";
  return std::nullopt;
}

}  // namespace hype::net
