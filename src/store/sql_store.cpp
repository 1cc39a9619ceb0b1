// SqlStore: migrations, users, refresh tokens, guilds, members and roles.
#include "store/sql_store.hpp"

#include <fmt/format.h>
#include <algorithm>

#include "core/clock.hpp"
#include "core/errors.hpp"

namespace hype::store {
namespace {

User make_user(const Row& r) {
  return User{r.i64(0), r.text(1), r.text(2), r.i64(3)};
}

RefreshToken make_token(const Row& r) {
  return RefreshToken{r.text(0), r.i64(1), r.i64(2), r.i64(3), r.boolean(4), r.boolean(5)};
}

Guild make_guild(const Row& r) {
  return Guild{r.i64(0), r.text(1), r.i64(2), r.i64(3)};
}

Role make_role(const Row& r) {
  return Role{r.i64(0), r.i64(1), r.text(2), static_cast<std::uint64_t>(r.i64(3)), r.i32(4)};
}

Member make_member(const Row& r) {
  Member m;
  m.guild_id = r.i64(0);
  m.user_id = r.i64(1);
  m.username = r.text(2);
  m.joined_at = r.i64(3);
  return m;
}

}  // namespace

std::int64_t SqlStore::exec(Access mode, const char* sql, std::initializer_list<Param> params) {
  std::int64_t changed = 0;
  with_conn(mode, [&](SqlConn& c) { changed = run(c, sql, params); });
  return changed;
}

void SqlStore::transaction(Access mode, const ConnFn& fn) {
  with_conn(mode, [&](SqlConn& c) {
    c.begin(mode);
    try {
      fn(c);
      c.commit();
    } catch (...) {
      c.rollback();
      throw;
    }
  });
}

// ---- migrations

int SqlStore::migrate() {
  int ran = 0;
  with_conn(Access::write, [&](SqlConn& c) {
    lock_migrations(c);
    try {
      for (const Migration& m : migrations()) {
        c.begin(Access::write);
        try {
          c.exec_script(
              "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
              "applied_at BIGINT NOT NULL)");
          bool applied = false;
          run(c, "SELECT 1 FROM schema_migrations WHERE version = $1", {m.version},
              [&](const Row&) { applied = true; });
          if (!applied) {
            c.exec_script(std::string(m.sql));
            run(c, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                {m.version, unix_ms()});
          }
          c.commit();
          if (!applied) ++ran;
        } catch (const std::exception& e) {
          c.rollback();
          throw StoreError(
              fmt::format("migration {} ({}) failed: {}", m.version, m.name, e.what()));
        }
      }
    } catch (...) {
      unlock_migrations(c);
      throw;
    }
    unlock_migrations(c);
  });
  return ran;
}

int SqlStore::schema_version() {
  int version = 0;
  with_conn(Access::read, [&](SqlConn& c) {
    bool exists = false;
    run(c, dialect_.has_migrations_table, {}, [&](const Row&) { exists = true; });
    if (!exists) return;
    run(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {},
        [&](const Row& r) { version = r.i32(0); });
  });
  return version;
}

bool SqlStore::ping() {
  try {
    bool ok = false;
    with_conn(Access::read, [&](SqlConn& c) {
      run(c, "SELECT 1", {}, [&](const Row& r) { ok = r.i64(0) == 1; });
    });
    return ok;
  } catch (const std::exception&) {
    return false;
  }
}

// ---- users

void SqlStore::create_user(const User& u) {
  exec(Access::write,
       "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)",
       {u.id, u.username, u.password_hash, u.created_at});
}

std::optional<User> SqlStore::find_user(Id id) {
  return query_one<User>("SELECT id, username, password_hash, created_at FROM users WHERE id = $1",
                         {id}, make_user);
}

std::optional<User> SqlStore::find_user_by_name(const std::string& username) {
  return query_one<User>(dialect_.find_user_by_name, {username}, make_user);
}

// ---- refresh tokens

void SqlStore::insert_refresh_token(const RefreshToken& t) {
  exec(Access::write,
       "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, used, revoked) "
       "VALUES ($1, $2, $3, $4, $5, $6)",
       {t.token_hash, t.user_id, t.family_id, t.expires_at, t.used, t.revoked});
}

std::optional<RefreshToken> SqlStore::find_refresh_token(const std::string& token_hash) {
  return query_one<RefreshToken>(
      "SELECT token_hash, user_id, family_id, expires_at, used, revoked FROM refresh_tokens "
      "WHERE token_hash = $1",
      {token_hash}, make_token);
}

bool SqlStore::consume_refresh_token(const std::string& token_hash) {
  return exec(Access::write,
              "UPDATE refresh_tokens SET used = TRUE "
              "WHERE token_hash = $1 AND NOT used AND NOT revoked",
              {token_hash}) == 1;
}

void SqlStore::revoke_token_family(Id family_id) {
  exec(Access::write, "UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = $1", {family_id});
}

void SqlStore::delete_expired_refresh_tokens(std::int64_t now_ms) {
  exec(Access::write, "DELETE FROM refresh_tokens WHERE expires_at <= $1", {now_ms});
}

// ---- guilds

void SqlStore::create_guild(const Guild& g, const Role& everyone,
                            const std::vector<Channel>& channels, std::int64_t joined_at) {
  transaction(Access::write, [&](SqlConn& c) {
    run(c, "INSERT INTO guilds (id, name, owner_id, created_at) VALUES ($1, $2, $3, $4)",
        {g.id, g.name, g.owner_id, g.created_at});
    run(c,
        "INSERT INTO roles (id, guild_id, name, permissions, position) "
        "VALUES ($1, $2, $3, $4, $5)",
        {everyone.id, g.id, everyone.name, static_cast<std::int64_t>(everyone.permissions),
         everyone.position});
    run(c, "INSERT INTO members (guild_id, user_id, joined_at) VALUES ($1, $2, $3)",
        {g.id, g.owner_id, joined_at});
    for (const Channel& ch : channels) {
      Channel copy = ch;
      copy.guild_id = g.id;
      run(c,
          "INSERT INTO channels (id, guild_id, name, kind, position, topic, user_limit, "
          "bitrate, created_at, rtc_region) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          {copy.id, copy.guild_id, copy.name, static_cast<int>(copy.kind), copy.position,
           copy.topic, copy.user_limit, copy.bitrate, copy.created_at, copy.rtc_region});
    }
  });
}

std::optional<Guild> SqlStore::find_guild(Id id) {
  return query_one<Guild>("SELECT id, name, owner_id, created_at FROM guilds WHERE id = $1", {id},
                          make_guild);
}

void SqlStore::update_guild(const Guild& g) {
  exec(Access::write, "UPDATE guilds SET name = $2, owner_id = $3 WHERE id = $1",
       {g.id, g.name, g.owner_id});
}

void SqlStore::delete_guild(Id id) {
  // Foreign keys cascade to roles, members, member_roles, channels, messages and invites.
  exec(Access::write, "DELETE FROM guilds WHERE id = $1", {id});
}

std::vector<Guild> SqlStore::list_user_guilds(Id user_id) {
  return query<Guild>(
      "SELECT g.id, g.name, g.owner_id, g.created_at FROM members m "
      "JOIN guilds g ON g.id = m.guild_id WHERE m.user_id = $1 ORDER BY g.id",
      {user_id}, make_guild);
}

// ---- members

void SqlStore::add_member(const Member& m) {
  transaction(Access::write, [&](SqlConn& c) {
    run(c, "INSERT INTO members (guild_id, user_id, joined_at) VALUES ($1, $2, $3)",
        {m.guild_id, m.user_id, m.joined_at});
    for (Id role : m.role_ids) {
      if (role == m.guild_id) continue;  // @everyone is implicit
      run(c, "INSERT INTO member_roles (guild_id, user_id, role_id) VALUES ($1, $2, $3)",
          {m.guild_id, m.user_id, role});
    }
  });
}

bool SqlStore::remove_member(Id guild_id, Id user_id) {
  // member_roles rows go with the membership (ON DELETE CASCADE).
  return exec(Access::write, "DELETE FROM members WHERE guild_id = $1 AND user_id = $2",
              {guild_id, user_id}) > 0;
}

// Fills role_ids of members (ordered by user id) from one range query over member_roles.
void SqlStore::fill_roles(SqlConn& c, Id guild_id, std::vector<Member>& members) {
  if (members.empty()) return;
  std::size_t i = 0;
  run(c,
      "SELECT user_id, role_id FROM member_roles "
      "WHERE guild_id = $1 AND user_id >= $2 AND user_id <= $3 ORDER BY user_id, role_id",
      {guild_id, members.front().user_id, members.back().user_id}, [&](const Row& r) {
        Id user = r.i64(0);
        while (i < members.size() && members[i].user_id < user) ++i;
        if (i < members.size() && members[i].user_id == user)
          members[i].role_ids.push_back(r.i64(1));
      });
}

std::optional<Member> SqlStore::find_member(Id guild_id, Id user_id) {
  std::vector<Member> out;
  transaction(Access::read, [&](SqlConn& c) {
    out.clear();
    run(c,
        "SELECT m.guild_id, m.user_id, u.username, m.joined_at FROM members m "
        "JOIN users u ON u.id = m.user_id WHERE m.guild_id = $1 AND m.user_id = $2",
        {guild_id, user_id}, [&](const Row& r) { out.push_back(make_member(r)); });
    fill_roles(c, guild_id, out);
  });
  if (out.empty()) return std::nullopt;
  return std::move(out.front());
}

std::vector<Member> SqlStore::list_members(Id guild_id, Id after_user_id, int limit) {
  std::vector<Member> out;
  if (limit <= 0) return out;
  transaction(Access::read, [&](SqlConn& c) {
    out.clear();
    run(c,
        "SELECT m.guild_id, m.user_id, u.username, m.joined_at FROM members m "
        "JOIN users u ON u.id = m.user_id WHERE m.guild_id = $1 AND m.user_id > $2 "
        "ORDER BY m.user_id LIMIT $3",
        {guild_id, after_user_id, limit}, [&](const Row& r) { out.push_back(make_member(r)); });
    fill_roles(c, guild_id, out);
  });
  return out;
}

int SqlStore::count_members(Id guild_id) {
  int n = 0;
  with_conn(Access::read, [&](SqlConn& c) {
    run(c, "SELECT COUNT(*) FROM members WHERE guild_id = $1", {guild_id},
        [&](const Row& r) { n = r.i32(0); });
  });
  return n;
}

void SqlStore::set_member_roles(Id guild_id, Id user_id, const std::vector<Id>& role_ids) {
  std::vector<Id> roles;
  for (Id r : role_ids)
    if (r != guild_id) roles.push_back(r);  // @everyone is implicit
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  transaction(Access::write, [&](SqlConn& c) {
    run(c, "DELETE FROM member_roles WHERE guild_id = $1 AND user_id = $2", {guild_id, user_id});
    for (Id role : roles)
      run(c, "INSERT INTO member_roles (guild_id, user_id, role_id) VALUES ($1, $2, $3)",
          {guild_id, user_id, role});
  });
}

// ---- roles

void SqlStore::create_role(const Role& r) {
  exec(Access::write,
       "INSERT INTO roles (id, guild_id, name, permissions, position) VALUES ($1, $2, $3, $4, $5)",
       {r.id, r.guild_id, r.name, static_cast<std::int64_t>(r.permissions), r.position});
}

void SqlStore::update_role(const Role& r) {
  exec(Access::write,
       "UPDATE roles SET name = $3, permissions = $4, position = $5 "
       "WHERE id = $1 AND guild_id = $2",
       {r.id, r.guild_id, r.name, static_cast<std::int64_t>(r.permissions), r.position});
}

bool SqlStore::delete_role(Id guild_id, Id role_id) {
  // member_roles rows go with the role (ON DELETE CASCADE).
  return exec(Access::write, "DELETE FROM roles WHERE guild_id = $1 AND id = $2",
              {guild_id, role_id}) > 0;
}

std::vector<Role> SqlStore::list_roles(Id guild_id) {
  return query<Role>(
      "SELECT id, guild_id, name, permissions, position FROM roles WHERE guild_id = $1 "
      "ORDER BY position, id",
      {guild_id}, make_role);
}

}  // namespace hype::store
