// JSON shapes of the public objects (docs/protocol.md "Objects"), shared by REST answers
// (api/) and gateway dispatches (gateway/, and the event payloads the app encodes for the
// bus) so both always agree. The domain returns the typed views; this is the only place they
// become JSON. Ids are strings, times RFC 3339.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chat/views.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/placement.hpp"
#include "store/models.hpp"
#include "voice/voice_service.hpp"

namespace hype::wire {

boost::json::value time_json(std::int64_t unix_ms);  // null for 0
boost::json::object user_json(Id id, const std::string& username);
boost::json::object guild_json(const store::Guild& g);
boost::json::object channel_json(const store::Channel& c);
boost::json::object role_json(const store::Role& r);
boost::json::object member_json(const store::Member& m);
boost::json::object voice_state_json(const cluster::VoiceState& s);
const char* kind_name(store::ChannelKind k);

// Guild with channels, roles and my_permissions (GET /guilds/:id).
boost::json::object guild_view_json(const chat::GuildView& v);
// ...plus members, presences, member_count and voice_states (READY's guilds, GUILD_CREATE).
boost::json::object guild_snapshot_json(const chat::GuildSnapshot& s);
boost::json::object member_view_json(const chat::MemberView& m);  // member + status
boost::json::object message_json(const chat::MessageView& m);     // + nonce when set
boost::json::object invite_json(const store::Invite& inv);
boost::json::object invite_preview_json(const chat::InvitePreview& p);
boost::json::object presence_json(Id user_id, const std::string& status);

boost::json::object join_answer_json(const voice::JoinAnswer& a);
boost::json::array ice_servers_json(const std::vector<voice::IceServer>& servers);
boost::json::value node_json(const std::optional<cluster::Placed>& p);  // {id, url} or null
boost::json::object channel_mode_json(const voice::ChannelMode& m);

// A JSON array of `items` mapped by `f`.
template <typename T, typename F>
boost::json::array array_of(const std::vector<T>& items, F f) {
  boost::json::array out;
  out.reserve(items.size());
  for (const auto& i : items) out.push_back(f(i));
  return out;
}

}  // namespace hype::wire
