#include "wire/objects.hpp"

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace hype::wire {

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
          {"bitrate", c.bitrate},
          {"rtc_region", c.rtc_region.empty() ? json::value() : json::value(c.rtc_region)}};
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

json::object voice_state_json(const cluster::VoiceState& s) {
  return {{"guild_id", id_to_string(s.guild_id)},
          {"channel_id", s.channel_id ? json::value(id_to_string(s.channel_id)) : nullptr},
          {"user_id", id_to_string(s.user_id)},
          {"self_mute", s.self_mute},
          {"self_deaf", s.self_deaf},
          {"suppress", s.suppress},
          {"self_stream", s.self_stream}};
}

json::object guild_view_json(const chat::GuildView& v) {
  json::object o = guild_json(v.guild);
  o["channels"] = array_of(v.channels, channel_json);
  o["roles"] = array_of(v.roles, role_json);
  o["my_permissions"] = std::to_string(v.my_permissions);
  return o;
}

json::object guild_snapshot_json(const chat::GuildSnapshot& s) {
  json::object o = guild_view_json(s.view);
  o["members"] = array_of(s.members, member_json);
  o["presences"] = array_of(s.online, [](Id id) { return presence_json(id, "online"); });
  o["member_count"] = s.member_count;
  o["voice_states"] = array_of(s.voice_states, voice_state_json);
  return o;
}

json::object member_view_json(const chat::MemberView& m) {
  json::object o = member_json(m.member);
  o["status"] = m.online ? "online" : "offline";
  return o;
}

json::object message_json(const chat::MessageView& v) {
  const store::Message& m = v.message;
  json::object o{{"id", id_to_string(m.id)},
                 {"channel_id", id_to_string(m.channel_id)},
                 {"guild_id", id_to_string(m.guild_id)},
                 {"author_id", id_to_string(m.author_id)},
                 {"author", user_json(m.author_id, v.author_name)},
                 {"content", m.content},
                 {"created_at", time_json(m.created_at)},
                 {"edited_at", time_json(m.edited_at)}};
  if (v.nonce) o["nonce"] = *v.nonce;
  return o;
}

json::object invite_json(const store::Invite& inv) {
  return {{"code", inv.code},
          {"guild_id", id_to_string(inv.guild_id)},
          {"expires_at", time_json(inv.expires_at)},
          {"max_uses", inv.max_uses}};
}

json::object invite_preview_json(const chat::InvitePreview& p) {
  return {{"code", p.code},
          {"guild", json::object{{"id", id_to_string(p.guild_id)}, {"name", p.guild_name}}},
          {"member_count", p.member_count}};
}

json::object presence_json(Id user_id, const std::string& status) {
  return {{"user_id", id_to_string(user_id)}, {"status", status}};
}

json::array ice_servers_json(const std::vector<voice::IceServer>& servers) {
  return array_of(servers, [](const voice::IceServer& s) {
    json::object o{
        {"urls", array_of(s.urls, [](const std::string& u) { return json::string(u); })}};
    if (!s.username.empty() || !s.credential.empty()) {
      o["username"] = s.username;
      o["credential"] = s.credential;
    }
    return o;
  });
}

json::value node_json(const std::optional<cluster::Placed>& p) {
  if (!p) return nullptr;
  return json::object{{"id", p->node.id}, {"region", p->node.region}, {"url", p->node.url}};
}

json::object join_answer_json(const voice::JoinAnswer& a) {
  char buf[64];
  return {{"mode", voice::mode_name(a.mode)},
          {"channel_id", id_to_string(a.channel_id)},
          {"guild_id", id_to_string(a.guild_id)},
          {"participants", array_of(a.participants, voice_state_json)},
          {"ice_servers", ice_servers_json(a.ice_servers)},
          {"voice_token", a.voice_token},
          {"voice_token_expires_at", format_iso8601(a.voice_token_expires_at, buf)},
          {"bitrate", a.bitrate},
          {"sfu", node_json(a.sfu)}};
}

json::object channel_mode_json(const voice::ChannelMode& m) {
  return {{"channel_id", id_to_string(m.channel_id)}, {"mode", voice::mode_name(m.mode)}};
}

}  // namespace hype::wire
