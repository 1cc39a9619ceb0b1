#include "cluster/event_bus.hpp"

namespace hype::cluster {

namespace {
constexpr const char* kUnknown = "UNKNOWN";
}

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
    case EventType::stream_update:
      return "STREAM_UPDATE";
    case EventType::voice_server_update:
      return "VOICE_SERVER_UPDATE";
    case EventType::voice_signal:
      return "VOICE_SIGNAL";
  }
  return kUnknown;  // a value past the last enumerator
}

std::optional<EventType> parse_event_type(std::string_view name) {
  // Walks the enumerators (contiguous from 0) through event_type_name until it answers
  // kUnknown, so the two directions cannot disagree and a new type needs no second list.
  for (int i = 0;; ++i) {
    auto t = static_cast<EventType>(i);
    const char* n = event_type_name(t);
    if (n == kUnknown) return std::nullopt;
    if (name == n) return t;
  }
}

namespace {
// "ms-seq" (Redis stream entry id) -> its two numbers.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_cursor(std::string_view c) {
  auto dash = c.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == c.size()) return std::nullopt;
  std::uint64_t parts[2] = {0, 0};
  std::string_view texts[2] = {c.substr(0, dash), c.substr(dash + 1)};
  for (int i = 0; i < 2; ++i) {
    if (texts[i].size() > 19) return std::nullopt;  // no overflow
    for (char ch : texts[i]) {
      if (ch < '0' || ch > '9') return std::nullopt;
      parts[i] = parts[i] * 10 + static_cast<std::uint64_t>(ch - '0');
    }
  }
  return std::pair{parts[0], parts[1]};
}
}  // namespace

std::optional<int> compare_cursors(std::string_view a, std::string_view b) {
  auto x = parse_cursor(a);
  auto y = parse_cursor(b);
  if (!x || !y) return std::nullopt;
  if (*x == *y) return 0;
  return *x < *y ? -1 : 1;
}

}  // namespace hype::cluster
