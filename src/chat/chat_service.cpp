#include "chat/chat_service.hpp"

#include <spdlog/spdlog.h>

#include "auth/validation.hpp"
#include "chat/permissions.hpp"
#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/random.hpp"

namespace hype::chat {

using store::ChannelKind;
using ET = cluster::EventType;

ChatService::ChatService(store::Store& store, SnowflakeGenerator& ids, cluster::EventBus& bus,
                         cluster::Coordinator& coord, EventEncoder encode)
    : store_(store), ids_(ids), bus_(bus), coord_(coord), encode_(std::move(encode)) {}

Access ChatService::access(Id actor, Id guild_id) {
  Access a;
  auto g = store_.find_guild(guild_id);
  if (!g) throw not_found("guild");
  auto m = store_.find_member(guild_id, actor);
  if (!m) throw not_found("guild");
  a.guild = std::move(*g);
  a.member = std::move(*m);
  a.roles = store_.list_roles(guild_id);
  a.permissions = compute_permissions(a.guild, a.roles, a.member);
  return a;
}

void ChatService::require(const Access& a, std::uint64_t needed, const char* what) const {
  if (!has_permissions(a.permissions, needed))
    throw forbidden(std::string("missing permission: ") + what);
}

std::string ChatService::username(Id user_id) {
  {
    std::lock_guard lock(names_mu_);
    auto it = names_.find(user_id);
    if (it != names_.end()) return it->second;
  }
  auto u = store_.find_user(user_id);
  std::string name = u ? u->username : "deleted-user";
  std::lock_guard lock(names_mu_);
  if (names_.size() > 200000) names_.clear();
  names_[user_id] = name;
  return name;
}

void ChatService::publish(cluster::Event head, const EventBody& body) {
  head.data = encode_(body);
  bus_.publish(head);
}

void ChatService::publish_guild_create(Id user, GuildSnapshot snapshot) {
  Id guild_id = snapshot.view.guild.id;
  std::uint64_t perms = snapshot.view.my_permissions;
  publish({.type = ET::guild_create,
           .guild_id = guild_id,
           .user_ids = {user},
           .subject_user_id = user,
           .subject_permissions = perms},
          std::move(snapshot));
}

store::Guild ChatService::create_guild(Id actor, const std::string& name) {
  auth::validate_text(name, "name", 2, 100, false);
  std::int64_t now = unix_ms();
  store::Guild g{ids_.next(), name, actor, now};
  store::Role everyone{g.id, g.id, "@everyone", perm::kDefaultEveryone, 0};
  store::Channel general;
  general.id = ids_.next();
  general.guild_id = g.id;
  general.name = "general";
  general.kind = ChannelKind::text;
  general.position = 0;
  general.created_at = now;
  store::Channel voice = general;
  voice.id = ids_.next();
  voice.name = "General";
  voice.kind = ChannelKind::voice;
  voice.position = 1;
  store_.create_guild(g, everyone, {general, voice}, now);
  spdlog::info("guild created id={} owner={}", g.id, actor);
  publish_guild_create(actor, guild_snapshot(actor, g.id));
  return g;
}

std::vector<store::Guild> ChatService::list_guilds(Id actor) {
  return store_.list_user_guilds(actor);
}

std::vector<Id> ChatService::user_guild_ids(Id actor) {
  std::vector<Id> out;
  for (auto& g : store_.list_user_guilds(actor)) out.push_back(g.id);
  return out;
}

GuildView ChatService::get_guild(Id actor, Id guild_id) {
  Access a = access(actor, guild_id);
  GuildView v;
  if (has_permissions(a.permissions, perm::kViewChannel))
    v.channels = store_.list_channels(guild_id);
  v.guild = std::move(a.guild);
  v.roles = std::move(a.roles);
  v.my_permissions = a.permissions;
  return v;
}

GuildSnapshot ChatService::guild_snapshot(Id actor, Id guild_id) {
  GuildSnapshot s;
  s.view = get_guild(actor, guild_id);
  s.members = store_.list_members(guild_id, 0, 1000);
  s.voice_states = coord_.guild_voice_states(guild_id);
  // One coordinator call for the whole page (a round trip each would not scale in a cluster).
  std::vector<Id> ids;
  ids.reserve(s.members.size());
  for (auto& m : s.members) ids.push_back(m.user_id);
  s.online = coord_.online(std::move(ids));
  s.member_count = store_.count_members(guild_id);
  return s;
}

store::Guild ChatService::update_guild(Id actor, Id guild_id, const std::string& name) {
  Access a = access(actor, guild_id);
  require(a, perm::kManageGuild, "MANAGE_GUILD");
  auth::validate_text(name, "name", 2, 100, false);
  a.guild.name = name;
  store_.update_guild(a.guild);
  publish({.type = ET::guild_update, .guild_id = guild_id}, a.guild);
  return a.guild;
}

void ChatService::delete_guild(Id actor, Id guild_id) {
  Access a = access(actor, guild_id);
  if (a.guild.owner_id != actor) throw forbidden("only the owner can delete a guild");
  // Tell members before the rows go: after the delete nobody is a member any more.
  publish({.type = ET::guild_delete, .guild_id = guild_id}, GuildGone{guild_id});
  store_.delete_guild(guild_id);
  spdlog::info("guild deleted id={} by={}", guild_id, actor);
}

std::vector<MemberView> ChatService::list_members(Id actor, Id guild_id, Id after, int limit) {
  access(actor, guild_id);
  std::vector<MemberView> out;
  for (auto& m : store_.list_members(guild_id, after, limit)) {
    bool online = coord_.is_online(m.user_id);
    out.push_back({std::move(m), online});
  }
  return out;
}

void ChatService::remove_member(Id actor, Id guild_id, Id user_id) {
  Access a = access(actor, guild_id);
  if (user_id == a.guild.owner_id) throw forbidden("the owner cannot be removed from the guild");
  if (user_id != actor) require(a, perm::kKickMembers, "KICK_MEMBERS");
  auto target = store_.find_member(guild_id, user_id);
  if (!target) throw not_found("member");
  store_.remove_member(guild_id, user_id);
  publish({.type = ET::guild_member_remove, .guild_id = guild_id, .subject_user_id = user_id},
          MemberGone{guild_id, user_id, target->username});
  // The removed user no longer matches the guild filter: tell them directly.
  publish({.type = ET::guild_delete,
           .guild_id = guild_id,
           .user_ids = {user_id},
           .subject_user_id = user_id},
          GuildGone{guild_id});
  // VoiceService ends the user's voice state in this guild (and the SFU their session) on
  // GUILD_MEMBER_REMOVE, as it does for every change that removes a right.
}

store::Member ChatService::set_member_roles(Id actor, Id guild_id, Id user_id,
                                            const std::vector<Id>& role_ids) {
  Access a = access(actor, guild_id);
  require(a, perm::kManageGuild, "MANAGE_GUILD");
  auto target = store_.find_member(guild_id, user_id);
  if (!target) throw not_found("member");
  std::vector<Id> clean;
  for (Id r : role_ids) {
    if (r == guild_id) continue;  // @everyone is implicit
    bool exists = false;
    for (auto& role : a.roles) exists = exists || role.id == r;
    if (!exists) throw bad_request("unknown role " + id_to_string(r), "roles");
    // Nobody but the owner hands out ADMINISTRATOR.
    for (auto& role : a.roles)
      if (role.id == r && (role.permissions & perm::kAdministrator) && actor != a.guild.owner_id)
        throw forbidden("only the owner can grant an administrator role");
    clean.push_back(r);
  }
  store_.set_member_roles(guild_id, user_id, clean);
  target->role_ids = clean;
  publish({.type = ET::guild_member_update, .guild_id = guild_id, .subject_user_id = user_id},
          *target);
  return *target;
}

std::optional<std::uint64_t> ChatService::permissions_for(Id user_id, Id guild_id) {
  auto g = store_.find_guild(guild_id);
  if (!g) return std::nullopt;
  auto m = store_.find_member(guild_id, user_id);
  if (!m) return std::nullopt;
  return compute_permissions(*g, store_.list_roles(guild_id), *m);
}

std::vector<store::Role> ChatService::list_roles(Id actor, Id guild_id) {
  return access(actor, guild_id).roles;
}

store::Role ChatService::create_role(Id actor, Id guild_id, const std::string& name,
                                     std::uint64_t permissions) {
  Access a = access(actor, guild_id);
  require(a, perm::kManageGuild, "MANAGE_GUILD");
  auth::validate_text(name, "name", 1, 100, false);
  if (permissions & ~perm::kAll) throw bad_request("unknown permission bits", "permissions");
  if ((permissions & perm::kAdministrator) && actor != a.guild.owner_id)
    throw forbidden("only the owner can create an administrator role");
  if (a.roles.size() >= 250) throw bad_request("a guild has at most 250 roles", "name");
  store::Role r{ids_.next(), guild_id, name, permissions, static_cast<int>(a.roles.size())};
  store_.create_role(r);
  publish({.type = ET::guild_role_create, .guild_id = guild_id}, RoleChange{guild_id, r});
  return r;
}

store::Role ChatService::update_role(Id actor, Id guild_id, Id role_id, const RolePatch& patch) {
  Access a = access(actor, guild_id);
  require(a, perm::kManageGuild, "MANAGE_GUILD");
  store::Role* role = nullptr;
  for (auto& r : a.roles)
    if (r.id == role_id) role = &r;
  if (!role) throw not_found("role");
  if (patch.name) {
    if (role_id == guild_id) throw bad_request("@everyone cannot be renamed", "name");
    auth::validate_text(*patch.name, "name", 1, 100, false);
    role->name = *patch.name;
  }
  if (patch.permissions) {
    if (*patch.permissions & ~perm::kAll)
      throw bad_request("unknown permission bits", "permissions");
    if (((*patch.permissions ^ role->permissions) & perm::kAdministrator) &&
        actor != a.guild.owner_id)
      throw forbidden("only the owner can change ADMINISTRATOR");
    role->permissions = *patch.permissions;
  }
  if (patch.position) role->position = *patch.position;
  store_.update_role(*role);
  publish({.type = ET::guild_role_update, .guild_id = guild_id}, RoleChange{guild_id, *role});
  return *role;
}

void ChatService::delete_role(Id actor, Id guild_id, Id role_id) {
  Access a = access(actor, guild_id);
  require(a, perm::kManageGuild, "MANAGE_GUILD");
  if (role_id == guild_id) throw bad_request("@everyone cannot be deleted", "role_id");
  if (!store_.delete_role(guild_id, role_id)) throw not_found("role");
  publish({.type = ET::guild_role_delete, .guild_id = guild_id}, RoleGone{guild_id, role_id});
}

store::Invite ChatService::create_invite(Id actor, Id guild_id, int max_uses, int max_age_s) {
  Access a = access(actor, guild_id);
  require(a, perm::kCreateInvite, "CREATE_INVITE");
  if (max_uses < 0 || max_uses > 10000) throw bad_request("max_uses must be 0-10000", "max_uses");
  if (max_age_s < 0 || max_age_s > 30 * 86400)
    throw bad_request("max_age must be 0-2592000 seconds", "max_age");
  store::Invite inv;
  inv.code = random_token(6);  // 8 characters, 48 bits
  inv.guild_id = guild_id;
  inv.inviter_id = actor;
  inv.created_at = unix_ms();
  inv.expires_at = max_age_s ? inv.created_at + static_cast<std::int64_t>(max_age_s) * 1000 : 0;
  inv.max_uses = max_uses;
  store_.create_invite(inv);
  return inv;
}

InvitePreview ChatService::get_invite(const std::string& code) {
  if (code.empty() || code.size() > 64) throw not_found("invite");
  auto inv = store_.find_invite(code);
  if (!inv || (inv->expires_at && inv->expires_at <= unix_ms()) ||
      (inv->max_uses && inv->uses >= inv->max_uses))
    throw not_found("invite");
  auto g = store_.find_guild(inv->guild_id);
  if (!g) throw not_found("invite");
  return {inv->code, g->id, g->name, store_.count_members(g->id)};
}

store::Guild ChatService::join_invite(Id actor, const std::string& code) {
  if (code.empty() || code.size() > 64) throw not_found("invite");
  auto inv = store_.find_invite(code);
  if (!inv) throw not_found("invite");
  if (store_.find_member(inv->guild_id, actor)) throw conflict("already a member of this guild");
  if (!store_.use_invite(code, unix_ms())) throw not_found("invite");
  auto g = store_.find_guild(inv->guild_id);
  if (!g) throw not_found("invite");
  store::Member m;
  m.guild_id = g->id;
  m.user_id = actor;
  m.joined_at = unix_ms();
  try {
    store_.add_member(m);
  } catch (const ConflictError&) {
    throw conflict("already a member of this guild");
  }
  m.username = username(actor);
  publish({.type = ET::guild_member_add, .guild_id = g->id, .subject_user_id = actor}, m);
  if (coord_.is_online(actor))
    publish({.type = ET::presence_update, .guild_id = g->id, .subject_user_id = actor},
            Presence{actor, "online"});
  publish_guild_create(actor, guild_snapshot(actor, g->id));
  return *g;
}

}  // namespace hype::chat
