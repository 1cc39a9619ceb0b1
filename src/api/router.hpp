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

enum class RateClass { none, auth, messages };

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
