#include "cluster/event_bus.hpp"

namespace hype::cluster {

const char* event_type_name(EventType t) {
  switch (t) {
    case EventType::guild_create:
      return "GUILD_CREATE";
    case EventType::guild_update:
      return "GUILD_UPDATE";
    case EventType::guild_delete:
      return "GUILD_DELETE";
    case EventType::guild_member_add:
      return "GUILD_MEMBER_ADD";
    case EventType::guild_member_update:
      return "GUILD_MEMBER_UPDATE";
    case EventType::guild_member_remove:
      return "GUILD_MEMBER_REMOVE";
    case EventType::guild_role_create:
      return "GUILD_ROLE_CREATE";
    case EventType::guild_role_update:
      return "GUILD_ROLE_UPDATE";
    case EventType::guild_role_delete:
      return "GUILD_ROLE_DELETE";
    case EventType::channel_create:
      return "CHANNEL_CREATE";
    case EventType::channel_update:
      return "CHANNEL_UPDATE";
    case EventType::channel_delete:
      return "CHANNEL_DELETE";
    case EventType::message_create:
      return "MESSAGE_CREATE";
    case EventType::message_update:
      return "MESSAGE_UPDATE";
    case EventType::message_delete:
      return "MESSAGE_DELETE";
    case EventType::typing_start:
      return "TYPING_START";
    case EventType::presence_update:
      return "PRESENCE_UPDATE";
    case EventType::voice_state_update:
      return "VOICE_STATE_UPDATE";
    case EventType::voice_mode_update:
      return "VOICE_MODE_UPDATE";
  }
  return "UNKNOWN";  // not reached: the switch covers every type
}

std::optional<EventType> parse_event_type(std::string_view name) {
  // Walks the enum through event_type_name, so the two directions cannot disagree.
  for (int i = 0; i <= static_cast<int>(EventType::voice_mode_update); ++i) {
    auto t = static_cast<EventType>(i);
    if (name == event_type_name(t)) return t;
  }
  return std::nullopt;
}

}  // namespace hype::cluster
