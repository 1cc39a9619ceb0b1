#include <boost/json.hpp>

#include "api/api.hpp"
#include "core/errors.hpp"
#include "wire/objects.hpp"

namespace hype::api {

namespace json = boost::json;

namespace {
json::object session_json(const auth::Session& s, bool with_user) {
  json::object o{{"access_token", s.access_token},
                 {"refresh_token", s.refresh_token},
                 {"expires_in", s.expires_in},
                 {"token_type", "Bearer"}};
  if (with_user) o["user"] = wire::user_json(s.user.id, s.user.username);
  return o;
}
}  // namespace

void Api::add_auth_routes() {
  auto& auth = d_.auth;
  router_.add("POST", "/api/v1/auth/register", false, RateClass::auth, [this](Context& c) {
    auto username = *c.str("username", true);
    auto password = *c.str("password", true);
    auto session = d_.auth.register_user(username, password);
    login_throttle_.succeeded(username, c.request().remote_ip);  // a known address from now on
    c.status = 201;
    return json::value(session_json(session, true));
  });
  router_.add("POST", "/api/v1/auth/login", false, RateClass::auth, [this](Context& c) {
    std::string username, password;
    try {
      username = *c.str("username", true);
      password = *c.str("password", true);
    } catch (const ApiError& e) {
      // A NUL byte belongs to no username or password: wrong credentials, answered like any.
      if (e.code() == "invalid_string") throw unauthorized("wrong username or password");
      throw;
    }
    const std::string& address = c.request().remote_ip;
    try {
      login_throttle_.before(username, address);
    } catch (const ApiError&) {
      rate_limited_.with({"login"}).inc();
      throw;
    }
    try {
      auto session = d_.auth.login(username, password);
      login_throttle_.succeeded(username, address);
      return json::value(session_json(session, true));
    } catch (const ApiError& e) {
      if (e.status() == 401) login_throttle_.failed(username, address);
      throw;
    }
  });
  // Refresh and logout draw from their own budget, never the login one: failed logins from
  // an address must not sign out the people already signed in there.
  router_.add("POST", "/api/v1/auth/refresh", false, RateClass::refresh, [&auth](Context& c) {
    return json::value(session_json(auth.refresh(*c.str("refresh_token", true)), false));
  });
  router_.add("POST", "/api/v1/auth/logout", false, RateClass::refresh, [&auth](Context& c) {
    if (auto t = c.str("refresh_token", false)) auth.logout(*t);
    c.status = 204;
    return json::value();
  });
  router_.add("GET", "/api/v1/auth/me", true, RateClass::none, [&auth](Context& c) {
    auto u = auth.me(c.user);
    return json::value(wire::user_json(u.id, u.username));
  });
}

}  // namespace hype::api
