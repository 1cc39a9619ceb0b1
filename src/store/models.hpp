// Plain records as stored. No behaviour here: permission rules live in chat/, token rules in
// auth/. Times are unix milliseconds; ids are snowflakes (core/ids.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.hpp"

namespace hype::store {

struct User {
  Id id = 0;
  std::string username;
  std::string password_hash;  // libsodium crypto_pwhash_str (Argon2id)
  std::int64_t created_at = 0;
};

// Refresh tokens are stored by the SHA-256 of the token, never the token itself. Tokens of
// one login share a family: presenting a used token again revokes the whole family.
struct RefreshToken {
  std::string token_hash;
  Id user_id = 0;
  Id family_id = 0;
  std::int64_t expires_at = 0;
  bool used = false;
  bool revoked = false;
};

struct Guild {
  Id id = 0;
  std::string name;
  Id owner_id = 0;
  std::int64_t created_at = 0;
};

enum class ChannelKind { text = 0, voice = 1 };

struct Channel {
  Id id = 0;
  Id guild_id = 0;
  std::string name;
  ChannelKind kind = ChannelKind::text;
  int position = 0;
  std::string topic;
  int user_limit = 0;      // voice: 0 = unlimited
  std::string rtc_region;  // voice: the SFU region it runs in; "" = chosen when placed
  int bitrate = 64000;     // voice: bits per second
  std::int64_t created_at = 0;
};

// Every guild has an @everyone role whose id equals the guild id; every member has it
// implicitly (it is never listed in Member::role_ids).
struct Role {
  Id id = 0;
  Id guild_id = 0;
  std::string name;
  std::uint64_t permissions = 0;
  int position = 0;
};

struct Member {
  Id guild_id = 0;
  Id user_id = 0;
  std::string username;  // joined from users, filled by reads
  std::int64_t joined_at = 0;
  std::vector<Id> role_ids;  // excluding @everyone
};

struct Invite {
  std::string code;
  Id guild_id = 0;
  Id inviter_id = 0;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;  // 0 = never
  int max_uses = 0;             // 0 = unlimited
  int uses = 0;
};

struct Message {
  Id id = 0;
  Id channel_id = 0;
  Id guild_id = 0;
  Id author_id = 0;
  std::string content;
  std::int64_t created_at = 0;
  std::int64_t edited_at = 0;  // 0 = never edited
};

// What deciding one user's access to one channel needs, read in one statement (one round trip
// on PostgreSQL): the channel, its guild, the user's membership with its role ids (nullopt: not
// a member) and every role of the guild.
struct ChannelAccess {
  Channel channel;
  Guild guild;
  std::optional<Member> member;
  std::vector<Role> roles;  // by position, then id, as list_roles
};

struct MessageQuery {
  Id channel_id = 0;
  std::optional<Id> before;  // id < before
  std::optional<Id> after;   // id > after
  int limit = 50;            // already clamped by the caller
};

// The voice event outbox (cluster::EventLog's single-node backend): one row per event,
// deleted when the analytics consumer acknowledged it. `type` and `mode` are the event's
// names ("join", "sfu").
struct VoiceEventRow {
  Id id = 0;
  std::string type;
  Id guild_id = 0;
  Id channel_id = 0;
  Id user_id = 0;
  std::int64_t at = 0;
  std::int64_t duration_ms = 0;
  std::string mode;
  std::string node_id;
  int guild_users = -1;
};

// What one event adds to the analytics rollups. Days are UTC days since the unix epoch,
// minutes are unix minutes; the store applies a delta at most once per event id.
struct AnalyticsDelta {
  Id event_id = 0;
  Id guild_id = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> voice_ms;  // (day, ms) to add
  std::int64_t peak_day = 0;  // with peak_users >= 0: the day's peak is at least peak_users
  int peak_users = -1;
  std::int64_t join_minute = -1;  // >= 0: one join in that minute (and its day)
};

// Per guild per UTC day.
struct VoiceDaily {
  std::int64_t day = 0;
  std::int64_t voice_ms = 0;
  int peak_users = 0;
  int joins = 0;
};

struct JoinsMinute {
  std::int64_t minute = 0;
  int joins = 0;
};

}  // namespace hype::store
