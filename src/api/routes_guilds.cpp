#include <boost/json.hpp>
#include <chrono>

#include <fmt/format.h>

#include "api/api.hpp"
#include "core/clock.hpp"
#include "core/errors.hpp"
#include "voice/analytics.hpp"
#include "wire/objects.hpp"

namespace hype::api {

namespace json = boost::json;

namespace {

// "2026-12-05" for a UTC day counted from the unix epoch.
std::string day_string(std::int64_t day) {
  namespace chr = std::chrono;
  chr::year_month_day ymd{chr::sys_days{chr::days{day}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

json::value analytics_json(const voice::GuildAnalytics& a) {
  json::array days;
  for (auto& d : a.days)
    days.push_back(json::object{{"date", day_string(d.day)},
                                {"voice_seconds", static_cast<double>(d.voice_ms) / 1000.0},
                                {"voice_minutes", static_cast<double>(d.voice_ms) / 60000.0},
                                {"peak_users", d.peak_users},
                                {"joins", d.joins}});
  json::array minutes;
  for (auto& m : a.join_minutes)
    minutes.push_back(json::object{{"minute", m.minute * voice::kMsPerMinute}, {"joins", m.joins}});
  return json::object{{"guild_id", id_to_string(a.guild_id)},
                      {"from", day_string(a.from_day)},
                      {"to", day_string(a.to_day)},
                      {"days", std::move(days)},
                      {"joins_per_minute", std::move(minutes)}};
}

}  // namespace

void Api::add_guild_routes() {
  auto& chat = d_.chat;
  const std::string g = "/api/v1/guilds";
  router_.add("POST", g, true, RateClass::none, [&chat](Context& c) {
    c.status = 201;
    return json::value(wire::guild_json(chat.create_guild(c.user, *c.str("name", true))));
  });
  router_.add("GET", g, true, RateClass::none, [&chat](Context& c) {
    return json::value(wire::array_of(chat.list_guilds(c.user), wire::guild_json));
  });
  router_.add("GET", g + "/:id", true, RateClass::none, [&chat](Context& c) {
    return json::value(wire::guild_view_json(chat.get_guild(c.user, c.id_param(0, "guild"))));
  });
  router_.add("PATCH", g + "/:id", true, RateClass::none, [&chat](Context& c) {
    return json::value(
        wire::guild_json(chat.update_guild(c.user, c.id_param(0, "guild"), *c.str("name", true))));
  });
  router_.add("DELETE", g + "/:id", true, RateClass::none, [&chat](Context& c) {
    chat.delete_guild(c.user, c.id_param(0, "guild"));
    c.status = 204;
    return json::value();
  });

  // voice analytics (the analytics role's rollups)
  router_.add("GET", g + "/:id/analytics", true, RateClass::none, [this](Context& c) {
    int days = c.query_int("days", 1, 90).value_or(7);
    return analytics_json(
        voice::guild_analytics(d_.chat, d_.store, c.user, c.id_param(0, "guild"), days, unix_ms()));
  });

  // members
  router_.add("GET", g + "/:id/members", true, RateClass::none, [&chat](Context& c) {
    Id after = c.query_id("after").value_or(0);
    int limit = c.query_int("limit", 1, 1000).value_or(100);
    return json::value(wire::array_of(
        chat.list_members(c.user, c.id_param(0, "guild"), after, limit), wire::member_view_json));
  });
  router_.add("DELETE", g + "/:id/members/:user_id", true, RateClass::none, [&chat](Context& c) {
    chat.remove_member(c.user, c.id_param(0, "guild"), c.id_param(1, "member"));
    c.status = 204;
    return json::value();
  });
  router_.add("PUT", g + "/:id/members/:user_id/roles", true, RateClass::none, [&chat](Context& c) {
    return json::value(wire::member_json(chat.set_member_roles(
        c.user, c.id_param(0, "guild"), c.id_param(1, "member"), *c.ids("roles", true))));
  });

  // roles
  router_.add("GET", g + "/:id/roles", true, RateClass::none, [&chat](Context& c) {
    return json::value(
        wire::array_of(chat.list_roles(c.user, c.id_param(0, "guild")), wire::role_json));
  });
  auto parse_perms = [](Context& c, bool required) -> std::optional<std::uint64_t> {
    const auto* v = c.body().if_contains("permissions");
    if (!v || v->is_null()) {
      if (required) throw bad_request("permissions is required", "permissions");
      return std::nullopt;
    }
    if (v->is_string()) {
      try {
        std::size_t pos = 0;
        std::string s(v->as_string());
        auto n = std::stoull(s, &pos);
        if (pos == s.size() && !s.empty() && s[0] != '-') return n;
      } catch (...) {
      }
    } else if (v->is_int64() && v->as_int64() >= 0) {
      return static_cast<std::uint64_t>(v->as_int64());
    } else if (v->is_uint64()) {
      return v->as_uint64();
    }
    throw bad_request("permissions must be a decimal string of bits", "permissions");
  };
  router_.add("POST", g + "/:id/roles", true, RateClass::none, [&chat, parse_perms](Context& c) {
    auto perms = parse_perms(c, false).value_or(0);
    c.status = 201;
    return json::value(wire::role_json(
        chat.create_role(c.user, c.id_param(0, "guild"), *c.str("name", true), perms)));
  });
  router_.add("PATCH", g + "/:id/roles/:role_id", true, RateClass::none,
              [&chat, parse_perms](Context& c) {
                chat::RolePatch p;
                p.name = c.str("name", false);
                p.permissions = parse_perms(c, false);
                p.position = c.integer("position", false, 0, 1000);
                return json::value(wire::role_json(
                    chat.update_role(c.user, c.id_param(0, "guild"), c.id_param(1, "role"), p)));
              });
  router_.add("DELETE", g + "/:id/roles/:role_id", true, RateClass::none, [&chat](Context& c) {
    chat.delete_role(c.user, c.id_param(0, "guild"), c.id_param(1, "role"));
    c.status = 204;
    return json::value();
  });

  // invites
  router_.add("POST", g + "/:id/invites", true, RateClass::none, [&chat](Context& c) {
    int max_uses = c.integer("max_uses", false, 0, 10000).value_or(0);
    int max_age = c.integer("max_age", false, 0, 30 * 86400).value_or(7 * 86400);
    c.status = 201;
    return json::value(
        wire::invite_json(chat.create_invite(c.user, c.id_param(0, "guild"), max_uses, max_age)));
  });
  router_.add("GET", "/api/v1/invites/:code", true, RateClass::none, [&chat](Context& c) {
    return json::value(wire::invite_preview_json(chat.get_invite(c.param(0))));
  });
  router_.add("POST", "/api/v1/invites/:code", true, RateClass::none, [&chat](Context& c) {
    return json::value(wire::guild_json(chat.join_invite(c.user, c.param(0))));
  });
}

}  // namespace hype::api
