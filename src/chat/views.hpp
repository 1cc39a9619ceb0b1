// What ChatService answers and publishes: plain structs over the store's records. The JSON
// of every one of them (docs/protocol.md "Objects") is written at the edge, in wire/, so the
// REST answers and the gateway's dispatches share one mapping and the domain none.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cluster/coordinator.hpp"
#include "cluster/mode_policy.hpp"
#include "core/ids.hpp"
#include "store/models.hpp"

namespace hype::chat {

// A guild as its member sees it: channels only with VIEW_CHANNEL.
struct GuildView {
  store::Guild guild;
  std::vector<store::Channel> channels;
  std::vector<store::Role> roles;
  std::uint64_t my_permissions = 0;
};

// READY's guilds and GUILD_CREATE: the view plus members (first 1000), who of them is online,
// and the guild's voice states.
struct GuildSnapshot {
  GuildView view;
  std::vector<store::Member> members;
  std::vector<Id> online;  // members online now, in member order
  int member_count = 0;
  std::vector<cluster::VoiceState> voice_states;
};

struct MemberView {
  store::Member member;
  bool online = false;
};

struct MessageView {
  store::Message message;
  std::string author_name;
  std::optional<std::string> nonce;  // the sender's id for an optimistic send, echoed once
};

// What an invite shows before joining.
struct InvitePreview {
  std::string code;
  Id guild_id = 0;
  std::string guild_name;
  int member_count = 0;
};

// Event payloads that are not one of the records above.
struct GuildGone {  // GUILD_DELETE
  Id guild_id = 0;
};
struct MemberGone {  // GUILD_MEMBER_REMOVE
  Id guild_id = 0;
  Id user_id = 0;
  std::string username;
};
struct RoleChange {  // GUILD_ROLE_CREATE, GUILD_ROLE_UPDATE
  Id guild_id = 0;
  store::Role role;
};
struct RoleGone {  // GUILD_ROLE_DELETE
  Id guild_id = 0;
  Id role_id = 0;
};
struct MessageGone {  // MESSAGE_DELETE
  Id id = 0;
  Id channel_id = 0;
  Id guild_id = 0;
};
struct Typing {  // TYPING_START
  Id channel_id = 0;
  Id guild_id = 0;
  Id user_id = 0;
  std::int64_t timestamp = 0;  // unix seconds
};
struct Presence {  // PRESENCE_UPDATE
  Id user_id = 0;
  std::string status;  // online | idle | dnd | offline
};
struct StreamChange {  // STREAM_UPDATE
  Id guild_id = 0;
  Id channel_id = 0;
  Id user_id = 0;
  bool live = false;
  std::vector<Id> viewer_ids;
};
struct ModeChange {  // VOICE_MODE_UPDATE
  Id guild_id = 0;
  Id channel_id = 0;
  cluster::VoiceMode mode = cluster::VoiceMode::p2p;
};
struct ServerChange {  // VOICE_SERVER_UPDATE: the channel moved to another SFU node
  Id guild_id = 0;
  Id channel_id = 0;
  std::string node_id;
  std::string url;
  std::string region;
};

// The payload of an event, typed; an EventEncoder (wire/, injected by the app) serializes it
// into cluster::Event::data.
using EventBody =
    std::variant<GuildSnapshot, store::Guild, GuildGone, store::Member, MemberGone, RoleChange,
                 RoleGone, store::Channel, MessageView, MessageGone, Typing, Presence,
                 cluster::VoiceState, ModeChange, StreamChange, ServerChange>;
using EventEncoder = std::function<std::string(const EventBody&)>;

}  // namespace hype::chat
