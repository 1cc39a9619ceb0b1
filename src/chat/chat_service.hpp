// Guilds, members, roles, invites, channels and messages: every rule about who may read or
// change what lives here, and every change is published on the EventBus for the gateways.
// Methods take the acting user first, check permissions, and throw ApiError (404 for things
// the actor may not know exist, 403 for things they see but may not do).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/views.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "core/ids.hpp"
#include "store/store.hpp"

namespace hype::chat {

// What an actor is in a guild: loaded once per request.
struct Access {
  store::Guild guild;
  store::Member member;
  std::vector<store::Role> roles;
  std::uint64_t permissions = 0;
};

struct ChannelPatch {
  std::optional<std::string> name, topic;
  std::optional<int> position, user_limit, bitrate;
  std::optional<std::string> rtc_region;  // "" = automatic
};

struct NewChannel {
  std::string name;
  store::ChannelKind kind = store::ChannelKind::text;
  std::string topic;
  int user_limit = 0;
  int bitrate = 64000;
  std::string rtc_region;  // "" = automatic
};

struct RolePatch {
  std::optional<std::string> name;
  std::optional<std::uint64_t> permissions;
  std::optional<int> position;
};

class ChatService {
 public:
  // `encode` serializes event payloads for the bus (wire::encode_event_body).
  ChatService(store::Store& store, SnowflakeGenerator& ids, cluster::EventBus& bus,
              cluster::Coordinator& coord, EventEncoder encode);

  // guilds
  store::Guild create_guild(Id actor, const std::string& name);
  std::vector<store::Guild> list_guilds(Id actor);
  GuildView get_guild(Id actor, Id guild_id);  // guild + channels, roles, perms
  store::Guild update_guild(Id actor, Id guild_id, const std::string& name);
  void delete_guild(Id actor, Id guild_id);
  // Guild with channels, roles, members (first 1000), voice states and my_permissions: the
  // shape of READY's guilds and GUILD_CREATE.
  GuildSnapshot guild_snapshot(Id actor, Id guild_id);
  std::vector<Id> user_guild_ids(Id actor);

  // members
  std::vector<MemberView> list_members(Id actor, Id guild_id, Id after, int limit);
  void remove_member(Id actor, Id guild_id, Id user_id);
  store::Member set_member_roles(Id actor, Id guild_id, Id user_id,
                                 const std::vector<Id>& role_ids);
  // Permissions of user in guild, nullopt when not a member (gateway permission cache).
  std::optional<std::uint64_t> permissions_for(Id user_id, Id guild_id);

  // roles
  std::vector<store::Role> list_roles(Id actor, Id guild_id);
  store::Role create_role(Id actor, Id guild_id, const std::string& name,
                          std::uint64_t permissions);
  store::Role update_role(Id actor, Id guild_id, Id role_id, const RolePatch& patch);
  void delete_role(Id actor, Id guild_id, Id role_id);

  // invites
  store::Invite create_invite(Id actor, Id guild_id, int max_uses, int max_age_s);
  InvitePreview get_invite(const std::string& code);
  store::Guild join_invite(Id actor, const std::string& code);

  // channels (channels.cpp)
  std::vector<store::Channel> list_channels(Id actor, Id guild_id);
  store::Channel create_channel(Id actor, Id guild_id, NewChannel ch);
  store::Channel get_channel(Id actor, Id channel_id);
  store::Channel update_channel(Id actor, Id channel_id, const ChannelPatch& patch);
  void delete_channel(Id actor, Id channel_id);
  std::vector<store::Channel> reorder_channels(Id actor, Id guild_id,
                                               const std::vector<std::pair<Id, int>>& positions);
  std::vector<MemberView> channel_members(Id actor, Id channel_id);
  // The channel if the actor may see it (with the actor's access), else 404.
  std::pair<store::Channel, Access> visible_channel(Id actor, Id channel_id);

  // messages (messages.cpp)
  // `nonce` (client's id for an optimistic send) is echoed in the answer and the event.
  MessageView create_message(Id actor, Id channel_id, const std::string& content,
                             const std::optional<std::string>& nonce = std::nullopt);
  std::vector<MessageView> list_messages(Id actor, Id channel_id, std::optional<Id> before,
                                         std::optional<Id> after, int limit);
  MessageView edit_message(Id actor, Id channel_id, Id message_id, const std::string& content);
  void delete_message(Id actor, Id channel_id, Id message_id);
  void typing(Id actor, Id channel_id);

  Access access(Id actor, Id guild_id);  // 404 unless actor is a member
  std::string username(Id user_id);      // cached; usernames never change
  // Publishes `head` (type, receivers and the ids consumers act on) with `body` as payload.
  void publish(cluster::Event head, const EventBody& body);

 private:
  void require(const Access& a, std::uint64_t needed, const char* what) const;
  // GUILD_CREATE to `user` alone, carrying their permission bits for the gateway's cache.
  void publish_guild_create(Id user, GuildSnapshot snapshot);

  store::Store& store_;
  SnowflakeGenerator& ids_;
  cluster::EventBus& bus_;
  cluster::Coordinator& coord_;
  EventEncoder encode_;
  std::mutex names_mu_;
  std::unordered_map<Id, std::string> names_;
};

std::string normalize_text_channel_name(const std::string& name);

}  // namespace hype::chat
