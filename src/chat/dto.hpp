// JSON shapes of the public objects (docs/protocol.md "Objects"), shared by REST answers and
// gateway events so both always agree. Ids are strings, times RFC 3339.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>

#include "cluster/coordinator.hpp"
#include "store/models.hpp"

namespace hype::chat {

boost::json::value time_json(std::int64_t unix_ms);  // null for 0
boost::json::object user_json(Id id, const std::string& username);
boost::json::object guild_json(const store::Guild& g);
boost::json::object channel_json(const store::Channel& c);
boost::json::object role_json(const store::Role& r);
boost::json::object member_json(const store::Member& m);
boost::json::object message_json(const store::Message& m, const std::string& author_name);
boost::json::object voice_state_json(const cluster::VoiceState& s);
const char* kind_name(store::ChannelKind k);

}  // namespace hype::chat
