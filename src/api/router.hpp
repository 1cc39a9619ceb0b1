// Method + path-pattern routing. Patterns are literal segments and ":name" parameters; a
// route also declares whether it needs a user and which rate budget it draws from.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/context.hpp"

namespace hype::api {

// Budgets a route draws from beside the general one (see Api::check_budgets).
enum class RateClass { none, auth, refresh, messages };

struct Route {
  std::string method;
  std::string pattern;  // e.g. /api/v1/channels/:id/messages
  bool needs_user = true;
  RateClass rate = RateClass::none;
  std::function<boost::json::value(Context&)> handler;  // runs on the blocking pool
  std::vector<std::string> segments;
};

struct Match {
  const Route* route = nullptr;
  std::vector<std::string> params;
  bool path_matched = false;  // some route has this path, with another method (405)
  // A parameter is not text any resource can be named by (invalid UTF-8, NUL or another
  // control character): the route answers 404 without running, so no store sees it.
  bool bad_param = false;
};

class Router {
 public:
  void add(std::string method, std::string pattern, bool needs_user, RateClass rate,
           std::function<boost::json::value(Context&)> handler);
  Match match(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace hype::api
