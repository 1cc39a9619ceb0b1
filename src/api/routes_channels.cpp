#include <boost/json.hpp>

#include "api/api.hpp"
#include "core/errors.hpp"
#include "wire/message_writer.hpp"
#include "wire/objects.hpp"

namespace hype::api {

namespace json = boost::json;

namespace {

// The body's rtc_region: absent -> nullopt (unchanged); null or "auto" -> "" (automatic).
std::optional<std::string> rtc_region(Context& c) {
  if (!c.body().contains("rtc_region")) return std::nullopt;
  std::string r = c.str("rtc_region", false).value_or("");
  if (r == "auto") r.clear();
  return r;
}

}  // namespace

void Api::add_channel_routes() {
  auto& chat = d_.chat;
  router_.add("GET", "/api/v1/guilds/:id/channels", true, RateClass::none, [&chat](Context& c) {
    return json::value(
        wire::array_of(chat.list_channels(c.user, c.id_param(0, "guild")), wire::channel_json));
  });
  router_.add("POST", "/api/v1/guilds/:id/channels", true, RateClass::none, [&chat](Context& c) {
    chat::NewChannel ch;
    ch.name = *c.str("name", true);
    auto kind = c.str("kind", false).value_or("text");
    if (kind == "text")
      ch.kind = store::ChannelKind::text;
    else if (kind == "voice")
      ch.kind = store::ChannelKind::voice;
    else
      throw bad_request("kind must be \"text\" or \"voice\"", "kind");
    ch.topic = c.str("topic", false).value_or("");
    ch.user_limit = c.integer("user_limit", false, 0, 99).value_or(0);
    ch.bitrate = c.integer("bitrate", false, 8000, 384000).value_or(64000);
    ch.rtc_region = rtc_region(c).value_or("");
    c.status = 201;
    return json::value(
        wire::channel_json(chat.create_channel(c.user, c.id_param(0, "guild"), std::move(ch))));
  });
  router_.add("PATCH", "/api/v1/guilds/:id/channels", true, RateClass::none, [&chat](Context& c) {
    const auto& v = c.json();
    if (!v.is_array()) throw bad_request("body must be an array of {id, position}", "positions");
    std::vector<std::pair<Id, int>> positions;
    for (auto& e : v.as_array()) {
      const auto* o = e.if_object();
      const json::value* id = o ? o->if_contains("id") : nullptr;
      const json::value* pos = o ? o->if_contains("position") : nullptr;
      std::optional<Id> parsed;
      if (id && id->is_string()) parsed = parse_id(std::string(id->as_string()));
      if (!parsed || !pos || !pos->is_int64())
        throw bad_request("each entry needs an id string and an integer position", "positions");
      positions.emplace_back(
          *parsed, static_cast<int>(std::clamp<std::int64_t>(pos->as_int64(), -1, 100000)));
    }
    return json::value(wire::array_of(
        chat.reorder_channels(c.user, c.id_param(0, "guild"), positions), wire::channel_json));
  });
  const std::string ch = "/api/v1/channels/:id";
  router_.add("GET", ch, true, RateClass::none, [&chat](Context& c) {
    return json::value(wire::channel_json(chat.get_channel(c.user, c.id_param(0, "channel"))));
  });
  router_.add("PATCH", ch, true, RateClass::none, [&chat](Context& c) {
    chat::ChannelPatch p;
    p.name = c.str("name", false);
    p.topic = c.str("topic", false);
    p.position = c.integer("position", false, 0, 10000);
    p.user_limit = c.integer("user_limit", false, 0, 99);
    p.bitrate = c.integer("bitrate", false, 8000, 384000);
    p.rtc_region = rtc_region(c);
    return json::value(
        wire::channel_json(chat.update_channel(c.user, c.id_param(0, "channel"), p)));
  });
  router_.add("DELETE", ch, true, RateClass::none, [&chat](Context& c) {
    chat.delete_channel(c.user, c.id_param(0, "channel"));
    c.status = 204;
    return json::value();
  });
  router_.add("GET", ch + "/members", true, RateClass::none, [&chat](Context& c) {
    return json::value(wire::array_of(chat.channel_members(c.user, c.id_param(0, "channel")),
                                      wire::member_view_json));
  });
  router_.add("POST", ch + "/typing", true, RateClass::none, [&chat](Context& c) {
    chat.typing(c.user, c.id_param(0, "channel"));
    c.status = 204;
    return json::value();
  });

  // messages
  router_.add("POST", ch + "/messages", true, RateClass::messages, [&chat](Context& c) {
    auto content = *c.str("content", true);
    std::optional<std::string> nonce;
    if (const auto* n = c.body().if_contains("nonce")) {
      if (n->is_string() && n->as_string().size() <= 64)
        nonce = std::string(n->as_string());
      else if (!n->is_null())
        throw bad_request("nonce must be a string of at most 64 characters", "nonce");
    }
    auto m = chat.create_message(c.user, c.id_param(0, "channel"), content, nonce);
    c.status = 201;
    return json::value(wire::message_json(m));
  });
  router_.add("GET", ch + "/messages", true, RateClass::none, [&chat](Context& c) {
    auto before = c.query_id("before");
    auto after = c.query_id("after");
    int limit = c.query_int("limit", 1, 100).value_or(50);
    // The busiest read: written straight to the answer, no DOM per message.
    c.answer_json = wire::messages_json(
        chat.list_messages(c.user, c.id_param(0, "channel"), before, after, limit));
    return json::value();
  });
  router_.add("PATCH", ch + "/messages/:mid", true, RateClass::none, [&chat](Context& c) {
    return json::value(wire::message_json(chat.edit_message(
        c.user, c.id_param(0, "channel"), c.id_param(1, "message"), *c.str("content", true))));
  });
  router_.add("DELETE", ch + "/messages/:mid", true, RateClass::none, [&chat](Context& c) {
    chat.delete_message(c.user, c.id_param(0, "channel"), c.id_param(1, "message"));
    c.status = 204;
    return json::value();
  });
}

}  // namespace hype::api
