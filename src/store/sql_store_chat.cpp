// SqlStore: channels, invites and messages.
#include <algorithm>

#include "store/sql_store.hpp"

namespace hype::store {
namespace {

Channel make_channel(const Row& r) {
  Channel c;
  c.id = r.i64(0);
  c.guild_id = r.i64(1);
  c.name = r.text(2);
  c.kind =
      r.i64(3) == static_cast<int>(ChannelKind::voice) ? ChannelKind::voice : ChannelKind::text;
  c.position = r.i32(4);
  c.topic = r.text(5);
  c.user_limit = r.i32(6);
  c.bitrate = r.i32(7);
  c.created_at = r.i64(8);
  c.rtc_region = r.text(9);
  return c;
}

Invite make_invite(const Row& r) {
  return Invite{r.text(0), r.i64(1), r.i64(2), r.i64(3), r.i64(4), r.i32(5), r.i32(6)};
}

Message make_message(const Row& r) {
  return Message{r.i64(0), r.i64(1), r.i64(2), r.i64(3), r.text(4), r.i64(5), r.i64(6)};
}

#define HYPE_CHANNEL_COLS                                                               \
  "SELECT id, guild_id, name, kind, position, topic, user_limit, bitrate, created_at, " \
  "rtc_region FROM channels "
#define HYPE_MESSAGE_COLS \
  "SELECT id, channel_id, guild_id, author_id, content, created_at, edited_at FROM messages "

}  // namespace

// ---- channels

void SqlStore::create_channel(const Channel& c) {
  exec(Access::write,
       "INSERT INTO channels (id, guild_id, name, kind, position, topic, user_limit, bitrate, "
       "created_at, rtc_region) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
       {c.id, c.guild_id, c.name, static_cast<int>(c.kind), c.position, c.topic, c.user_limit,
        c.bitrate, c.created_at, c.rtc_region});
}

std::optional<Channel> SqlStore::find_channel(Id id) {
  return query_one<Channel>(HYPE_CHANNEL_COLS "WHERE id = $1", {id}, make_channel);
}

std::optional<ChannelAccess> SqlStore::find_channel_access(Id channel_id, Id user_id) {
  // One row per role of the guild (at least one row when the channel exists), each carrying
  // the channel, the guild, the membership (user id 0: none) and whether the user holds that
  // role; a non-member holds none (member_roles rows go with the membership). member_roles'
  // foreign key to roles (guild_id, id) makes the held roles what find_member would list.
  std::optional<ChannelAccess> out;
  with_conn(Access::read, [&](SqlConn& c) {
    out.reset();  // a retried read starts over
    run(c,
        "SELECT c.id, c.guild_id, c.name, c.kind, c.position, c.topic, c.user_limit, c.bitrate, "
        "c.created_at, c.rtc_region, g.name, g.owner_id, g.created_at, "
        "COALESCE(u.id, 0), COALESCE(u.username, ''), COALESCE(m.joined_at, 0), "
        "COALESCE(r.id, 0), COALESCE(r.name, ''), COALESCE(r.permissions, 0), "
        "COALESCE(r.position, 0), mr.role_id IS NOT NULL "
        "FROM channels c JOIN guilds g ON g.id = c.guild_id "
        "LEFT JOIN members m ON m.guild_id = c.guild_id AND m.user_id = $2 "
        "LEFT JOIN users u ON u.id = m.user_id "
        "LEFT JOIN roles r ON r.guild_id = c.guild_id "
        "LEFT JOIN member_roles mr ON mr.guild_id = r.guild_id AND mr.user_id = $2 "
        "AND mr.role_id = r.id "
        "WHERE c.id = $1",
        {channel_id, user_id}, [&](const Row& r) {
          if (!out) {
            out.emplace();
            out->channel = make_channel(r);
            out->guild = Guild{out->channel.guild_id, r.text(10), r.i64(11), r.i64(12)};
            if (Id member = r.i64(13)) {
              Member m;
              m.guild_id = out->guild.id;
              m.user_id = member;
              m.username = r.text(14);
              m.joined_at = r.i64(15);
              out->member = std::move(m);
            }
          }
          Id role = r.i64(16);
          if (!role) return;  // a guild without roles: one row, NULLs
          out->roles.push_back(Role{role, out->guild.id, r.text(17),
                                    static_cast<std::uint64_t>(r.i64(18)), r.i32(19)});
          if (out->member && r.boolean(20)) out->member->role_ids.push_back(role);
        });
  });
  if (!out) return out;
  // Sorted here rather than by the statement (a guild has few roles; on PostgreSQL every plan
  // node costs on every execution). Roles as list_roles orders them, role ids as find_member.
  std::sort(out->roles.begin(), out->roles.end(), [](const Role& a, const Role& b) {
    return a.position != b.position ? a.position < b.position : a.id < b.id;
  });
  if (out->member) std::sort(out->member->role_ids.begin(), out->member->role_ids.end());
  return out;
}

void SqlStore::update_channel(const Channel& c) {
  exec(Access::write,
       "UPDATE channels SET name = $2, topic = $3, position = $4, user_limit = $5, bitrate = $6, "
       "rtc_region = $7 WHERE id = $1",
       {c.id, c.name, c.topic, c.position, c.user_limit, c.bitrate, c.rtc_region});
}

bool SqlStore::delete_channel(Id id) {
  // Messages go with the channel (ON DELETE CASCADE).
  return exec(Access::write, "DELETE FROM channels WHERE id = $1", {id}) > 0;
}

std::vector<Channel> SqlStore::list_channels(Id guild_id) {
  return query<Channel>(HYPE_CHANNEL_COLS "WHERE guild_id = $1 ORDER BY position, id", {guild_id},
                        make_channel);
}

void SqlStore::set_channel_positions(Id guild_id,
                                     const std::vector<std::pair<Id, int>>& positions) {
  if (positions.empty()) return;
  transaction(Access::write, [&](SqlConn& c) {
    for (const auto& [id, position] : positions)
      run(c, "UPDATE channels SET position = $1 WHERE id = $2 AND guild_id = $3",
          {position, id, guild_id});
  });
}

// ---- invites

void SqlStore::create_invite(const Invite& i) {
  exec(Access::write,
       "INSERT INTO invites (code, guild_id, inviter_id, created_at, expires_at, max_uses, uses) "
       "VALUES ($1, $2, $3, $4, $5, $6, $7)",
       {i.code, i.guild_id, i.inviter_id, i.created_at, i.expires_at, i.max_uses, i.uses});
}

std::optional<Invite> SqlStore::find_invite(const std::string& code) {
  return query_one<Invite>(
      "SELECT code, guild_id, inviter_id, created_at, expires_at, max_uses, uses FROM invites "
      "WHERE code = $1",
      {code}, make_invite);
}

bool SqlStore::use_invite(const std::string& code, std::int64_t now_ms) {
  return exec(Access::write,
              "UPDATE invites SET uses = uses + 1 WHERE code = $1 "
              "AND (expires_at = 0 OR expires_at > $2) AND (max_uses = 0 OR uses < max_uses)",
              {code, now_ms}) == 1;
}

// ---- messages

void SqlStore::create_message(const Message& m) {
  exec(Access::write,
       "INSERT INTO messages (id, channel_id, guild_id, author_id, content, created_at, "
       "edited_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
       {m.id, m.channel_id, m.guild_id, m.author_id, m.content, m.created_at, m.edited_at});
}

std::optional<Message> SqlStore::find_message(Id id) {
  return query_one<Message>(HYPE_MESSAGE_COLS "WHERE id = $1", {id}, make_message);
}

void SqlStore::update_message(Id id, const std::string& content, std::int64_t edited_at) {
  exec(Access::write, "UPDATE messages SET content = $2, edited_at = $3 WHERE id = $1",
       {id, content, edited_at});
}

bool SqlStore::delete_message(Id id) {
  return exec(Access::write, "DELETE FROM messages WHERE id = $1", {id}) > 0;
}

std::vector<Message> SqlStore::list_messages(const MessageQuery& q) {
  if (q.limit <= 0) return {};
  if (q.after && q.before) {
    return query<Message>(HYPE_MESSAGE_COLS
                          "WHERE channel_id = $1 AND id > $2 AND id < $3 "
                          "ORDER BY id DESC LIMIT $4",
                          {q.channel_id, *q.after, *q.before, q.limit}, make_message);
  }
  if (q.after) {
    // The page right after `after`: read upwards from it, then return newest first.
    auto out = query<Message>(HYPE_MESSAGE_COLS
                              "WHERE channel_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3",
                              {q.channel_id, *q.after, q.limit}, make_message);
    std::reverse(out.begin(), out.end());
    return out;
  }
  if (q.before) {
    return query<Message>(HYPE_MESSAGE_COLS
                          "WHERE channel_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                          {q.channel_id, *q.before, q.limit}, make_message);
  }
  return query<Message>(HYPE_MESSAGE_COLS "WHERE channel_id = $1 ORDER BY id DESC LIMIT $2",
                        {q.channel_id, q.limit}, make_message);
}

}  // namespace hype::store
