#include "chat/dto.hpp"

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace hype::chat {

namespace json = boost::json;

json::value time_json(std::int64_t ms) {
  if (ms == 0) return nullptr;
  char buf[64];
  return json::string(format_iso8601(ms, buf));
}

json::object user_json(Id id, const std::string& username) {
  return {{"id", id_to_string(id)}, {"username", username}};
}

json::object guild_json(const store::Guild& g) {
  return {{"id", id_to_string(g.id)},
          {"name", g.name},
          {"owner_id", id_to_string(g.owner_id)},
          {"created_at", time_json(g.created_at)}};
}

const char* kind_name(store::ChannelKind k) {
  return k == store::ChannelKind::voice ? "voice" : "text";
}

json::object channel_json(const store::Channel& c) {
  return {{"id", id_to_string(c.id)},
          {"guild_id", id_to_string(c.guild_id)},
          {"name", c.name},
          {"kind", kind_name(c.kind)},
          {"position", c.position},
          {"topic", c.topic},
          {"user_limit", c.user_limit},
          {"bitrate", c.bitrate}};
}

json::object role_json(const store::Role& r) {
  return {{"id", id_to_string(r.id)},
          {"guild_id", id_to_string(r.guild_id)},
          {"name", r.name},
          {"permissions", std::to_string(r.permissions)},
          {"position", r.position}};
}

json::object member_json(const store::Member& m) {
  json::array roles;
  for (Id r : m.role_ids) roles.push_back(json::string(id_to_string(r)));
  return {{"guild_id", id_to_string(m.guild_id)},
          {"user", user_json(m.user_id, m.username)},
          {"roles", std::move(roles)},
          {"joined_at", time_json(m.joined_at)}};
}

json::object message_json(const store::Message& m, const std::string& author_name) {
  return {{"id", id_to_string(m.id)},
          {"channel_id", id_to_string(m.channel_id)},
          {"guild_id", id_to_string(m.guild_id)},
          {"author_id", id_to_string(m.author_id)},
          {"author", user_json(m.author_id, author_name)},
          {"content", m.content},
          {"created_at", time_json(m.created_at)},
          {"edited_at", time_json(m.edited_at)}};
}

json::object voice_state_json(const cluster::VoiceState& s) {
  return {{"guild_id", id_to_string(s.guild_id)},
          {"channel_id", s.channel_id ? json::value(id_to_string(s.channel_id)) : nullptr},
          {"user_id", id_to_string(s.user_id)},
          {"self_mute", s.self_mute},
          {"self_deaf", s.self_deaf},
          {"suppress", s.suppress}};
}

}  // namespace hype::chat
