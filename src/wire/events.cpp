#include "wire/events.hpp"

#include <boost/json.hpp>

#include "wire/objects.hpp"

namespace hype::wire {

namespace json = boost::json;

namespace {

// One overload per EventBody alternative: a new alternative without one fails to compile.
struct PayloadJson {
  json::value operator()(const chat::GuildSnapshot& s) const { return guild_snapshot_json(s); }
  json::value operator()(const store::Guild& g) const { return guild_json(g); }
  json::value operator()(const chat::GuildGone& g) const {
    return json::object{{"id", id_to_string(g.guild_id)}};
  }
  json::value operator()(const store::Member& m) const { return member_json(m); }
  json::value operator()(const chat::MemberGone& m) const {
    return json::object{{"guild_id", id_to_string(m.guild_id)},
                        {"user", user_json(m.user_id, m.username)}};
  }
  json::value operator()(const chat::RoleChange& r) const {
    return json::object{{"guild_id", id_to_string(r.guild_id)}, {"role", role_json(r.role)}};
  }
  json::value operator()(const chat::RoleGone& r) const {
    return json::object{{"guild_id", id_to_string(r.guild_id)},
                        {"role_id", id_to_string(r.role_id)}};
  }
  json::value operator()(const store::Channel& c) const { return channel_json(c); }
  json::value operator()(const chat::MessageView& m) const { return message_json(m); }
  json::value operator()(const chat::MessageGone& m) const {
    return json::object{{"id", id_to_string(m.id)},
                        {"channel_id", id_to_string(m.channel_id)},
                        {"guild_id", id_to_string(m.guild_id)}};
  }
  json::value operator()(const chat::Typing& t) const {
    return json::object{{"channel_id", id_to_string(t.channel_id)},
                        {"guild_id", id_to_string(t.guild_id)},
                        {"user_id", id_to_string(t.user_id)},
                        {"timestamp", t.timestamp}};
  }
  json::value operator()(const chat::Presence& p) const {
    return presence_json(p.user_id, p.status);
  }
  json::value operator()(const cluster::VoiceState& s) const { return voice_state_json(s); }
  json::value operator()(const chat::StreamChange& s) const {
    json::array viewers;
    for (Id v : s.viewer_ids) viewers.push_back(json::value(id_to_string(v)));
    auto count = static_cast<std::int64_t>(viewers.size());
    return json::object{
        {"guild_id", id_to_string(s.guild_id)}, {"channel_id", id_to_string(s.channel_id)},
        {"user_id", id_to_string(s.user_id)},   {"live", s.live},
        {"viewer_ids", std::move(viewers)},     {"viewer_count", count}};
  }
  json::value operator()(const chat::ModeChange& m) const {
    return json::object{{"guild_id", id_to_string(m.guild_id)},
                        {"channel_id", id_to_string(m.channel_id)},
                        {"mode", cluster::mode_name(m.mode)}};
  }
  json::value operator()(const chat::ServerChange& m) const {
    return json::object{
        {"guild_id", id_to_string(m.guild_id)},
        {"channel_id", id_to_string(m.channel_id)},
        {"sfu", json::object{{"id", m.node_id}, {"url", m.url}, {"region", m.region}}}};
  }
};

}  // namespace

std::string encode_event_body(const chat::EventBody& body) {
  return json::serialize(std::visit(PayloadJson{}, body));
}

}  // namespace hype::wire
