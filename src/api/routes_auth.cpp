#include <boost/json.hpp>

#include "api/api.hpp"
#include "chat/dto.hpp"

namespace hype::api {

namespace json = boost::json;

namespace {
json::object session_json(const auth::Session& s, bool with_user) {
  json::object o{{"access_token", s.access_token},
                 {"refresh_token", s.refresh_token},
                 {"expires_in", s.expires_in},
                 {"token_type", "Bearer"}};
  if (with_user) o["user"] = chat::user_json(s.user.id, s.user.username);
  return o;
}
}  // namespace

void Api::add_auth_routes() {
  auto& auth = d_.auth;
  router_.add("POST", "/api/v1/auth/register", false, RateClass::auth, [&auth](Context& c) {
    auto username = *c.str("username", true);
    auto password = *c.str("password", true);
    c.status = 201;
    return json::value(session_json(auth.register_user(username, password), true));
  });
  router_.add("POST", "/api/v1/auth/login", false, RateClass::auth, [&auth](Context& c) {
    auto username = *c.str("username", true);
    auto password = *c.str("password", true);
    return json::value(session_json(auth.login(username, password), true));
  });
  router_.add("POST", "/api/v1/auth/refresh", false, RateClass::auth, [&auth](Context& c) {
    return json::value(session_json(auth.refresh(*c.str("refresh_token", true)), false));
  });
  router_.add("POST", "/api/v1/auth/logout", false, RateClass::auth, [&auth](Context& c) {
    if (auto t = c.str("refresh_token", false)) auth.logout(*t);
    c.status = 204;
    return json::value();
  });
  router_.add("GET", "/api/v1/auth/me", true, RateClass::none, [&auth](Context& c) {
    auto u = auth.me(c.user);
    return json::value(chat::user_json(u.id, u.username));
  });
}

}  // namespace hype::api
