#include "api/router.hpp"

#include "core/utf8.hpp"

namespace hype::api {

namespace {
std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool plain_text(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return false;
  return is_valid_utf8(s);
}
}  // namespace

void Router::add(std::string method, std::string pattern, bool needs_user, RateClass rate,
                 std::function<boost::json::value(Context&)> handler) {
  Route r{std::move(method), std::move(pattern), needs_user, rate, std::move(handler), {}};
  r.segments = split(r.pattern);
  routes_.push_back(std::move(r));
}

Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  auto segs = split(path);
  for (auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::vector<std::string> params;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      if (!r.segments[i].empty() && r.segments[i][0] == ':')
        params.push_back(segs[i]);
      else
        ok = r.segments[i] == segs[i];
    }
    if (!ok) continue;
    if (r.method != method && !(method == "HEAD" && r.method == "GET")) {
      m.path_matched = true;
      continue;
    }
    m.route = &r;
    for (const auto& p : params) m.bad_param = m.bad_param || !plain_text(p);
    m.params = std::move(params);
    return m;
  }
  return m;
}

}  // namespace hype::api
