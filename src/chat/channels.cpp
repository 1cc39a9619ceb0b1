#include <algorithm>
#include <unordered_set>

#include "auth/validation.hpp"
#include "chat/chat_service.hpp"
#include "chat/permissions.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"

namespace hype::chat {

using store::ChannelKind;
using ET = cluster::EventType;

namespace {

constexpr int kMaxChannels = 500;

void validate_voice_settings(int user_limit, int bitrate, const std::string& rtc_region) {
  if (user_limit < 0 || user_limit > 99) throw bad_request("user_limit must be 0-99", "user_limit");
  if (bitrate < 8000 || bitrate > 384000)
    throw bad_request("bitrate must be 8000-384000", "bitrate");
  if (!is_region_name(rtc_region) && !rtc_region.empty())
    throw bad_request("rtc_region must be null or a region name (a-z, 0-9, -; at most 32)",
                      "rtc_region");
}

}  // namespace

std::string normalize_text_channel_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == ' ')
      c = '-';
    else if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    out += c;
  }
  return out;
}

std::pair<store::Channel, Access> ChatService::visible_channel(Id actor, Id channel_id) {
  // One statement for what find_channel + access() read separately (five round trips on
  // PostgreSQL, with find_member's transaction): every message read passes here. The rules are
  // access()'s: no channel, not a member or no VIEW_CHANNEL all answer the same 404.
  auto rows = store_.find_channel_access(channel_id, actor);
  if (!rows || !rows->member) throw not_found("channel");
  Access a;
  a.guild = std::move(rows->guild);
  a.member = std::move(*rows->member);
  a.roles = std::move(rows->roles);
  a.permissions = compute_permissions(a.guild, a.roles, a.member);
  if (!has_permissions(a.permissions, perm::kViewChannel)) throw not_found("channel");
  return {std::move(rows->channel), std::move(a)};
}

std::vector<store::Channel> ChatService::list_channels(Id actor, Id guild_id) {
  Access a = access(actor, guild_id);
  if (!has_permissions(a.permissions, perm::kViewChannel)) return {};
  return store_.list_channels(guild_id);
}

store::Channel ChatService::create_channel(Id actor, Id guild_id, NewChannel in) {
  Access a = access(actor, guild_id);
  require(a, perm::kManageChannels, "MANAGE_CHANNELS");
  auth::validate_text(in.name, "name", 1, 100, false);
  auth::validate_text(in.topic, "topic", 0, 1024, true);
  validate_voice_settings(in.user_limit, in.bitrate, in.rtc_region);
  auto existing = store_.list_channels(guild_id);
  if (existing.size() >= kMaxChannels)
    throw bad_request("a guild has at most 500 channels", "name");
  store::Channel c;
  c.id = ids_.next();
  c.guild_id = guild_id;
  c.name = in.kind == ChannelKind::text ? normalize_text_channel_name(in.name) : in.name;
  c.kind = in.kind;
  c.topic = in.topic;
  c.user_limit = in.user_limit;
  c.bitrate = in.bitrate;
  c.rtc_region = in.rtc_region;
  int max_pos = -1;
  for (auto& e : existing) max_pos = std::max(max_pos, e.position);
  c.position = max_pos + 1;
  c.created_at = unix_ms();
  store_.create_channel(c);
  publish({.type = ET::channel_create,
           .guild_id = guild_id,
           .required_permissions = perm::kViewChannel,
           .channel_id = c.id},
          c);
  return c;
}

store::Channel ChatService::get_channel(Id actor, Id channel_id) {
  return visible_channel(actor, channel_id).first;
}

store::Channel ChatService::update_channel(Id actor, Id channel_id, const ChannelPatch& p) {
  auto [c, a] = visible_channel(actor, channel_id);
  require(a, perm::kManageChannels, "MANAGE_CHANNELS");
  if (p.name) {
    auth::validate_text(*p.name, "name", 1, 100, false);
    c.name = c.kind == ChannelKind::text ? normalize_text_channel_name(*p.name) : *p.name;
  }
  if (p.topic) {
    auth::validate_text(*p.topic, "topic", 0, 1024, true);
    c.topic = *p.topic;
  }
  if (p.position) {
    if (*p.position < 0 || *p.position > 10000)
      throw bad_request("position must be 0-10000", "position");
    c.position = *p.position;
  }
  if (p.user_limit) c.user_limit = *p.user_limit;
  if (p.bitrate) c.bitrate = *p.bitrate;
  if (p.rtc_region) c.rtc_region = *p.rtc_region;
  validate_voice_settings(c.user_limit, c.bitrate, c.rtc_region);
  store_.update_channel(c);
  publish({.type = ET::channel_update,
           .guild_id = c.guild_id,
           .required_permissions = perm::kViewChannel,
           .channel_id = c.id},
          c);
  return c;
}

void ChatService::delete_channel(Id actor, Id channel_id) {
  auto [c, a] = visible_channel(actor, channel_id);
  require(a, perm::kManageChannels, "MANAGE_CHANNELS");
  store_.delete_channel(channel_id);
  // Anyone still in a deleted voice channel leaves it: VoiceService ends their states (and
  // the SFU their sessions) on this event.
  publish({.type = ET::channel_delete,
           .guild_id = c.guild_id,
           .required_permissions = perm::kViewChannel,
           .channel_id = c.id},
          c);
}

std::vector<store::Channel> ChatService::reorder_channels(
    Id actor, Id guild_id, const std::vector<std::pair<Id, int>>& positions) {
  Access a = access(actor, guild_id);
  require(a, perm::kManageChannels, "MANAGE_CHANNELS");
  if (positions.empty() || positions.size() > kMaxChannels)
    throw bad_request("give 1-500 {id, position} pairs", "positions");
  auto channels = store_.list_channels(guild_id);
  for (auto& [id, pos] : positions) {
    bool found = false;
    for (auto& c : channels) found = found || c.id == id;
    if (!found) throw bad_request("channel " + id_to_string(id) + " is not in this guild", "id");
    if (pos < 0 || pos > 10000) throw bad_request("position must be 0-10000", "position");
  }
  store_.set_channel_positions(guild_id, positions);
  auto out = store_.list_channels(guild_id);
  for (auto& c : out) {
    for (auto& [id, pos] : positions)
      if (id == c.id)
        publish({.type = ET::channel_update,
                 .guild_id = guild_id,
                 .required_permissions = perm::kViewChannel,
                 .channel_id = c.id},
                c);
  }
  return out;
}

std::vector<MemberView> ChatService::channel_members(Id actor, Id channel_id) {
  auto [c, a] = visible_channel(actor, channel_id);
  std::vector<MemberView> out;
  Id after = 0;
  // Every member who can see the channel; pages through the guild in chunks.
  for (;;) {
    auto page = store_.list_members(c.guild_id, after, 1000);
    std::vector<Id> ids;
    for (auto& m : page) ids.push_back(m.user_id);
    auto online_ids = coord_.online(std::move(ids));  // one coordinator call per page
    std::unordered_set<Id> online(online_ids.begin(), online_ids.end());
    for (auto& m : page) {
      if (has_permissions(compute_permissions(a.guild, a.roles, m), perm::kViewChannel))
        out.push_back({m, online.count(m.user_id) > 0});
    }
    if (page.size() < 1000 || out.size() >= 10000) break;
    after = page.back().user_id;
  }
  return out;
}

}  // namespace hype::chat
