// SqlStore: the Store written once in SQL common to SQLite and PostgreSQL. A backend supplies
// connections (with_conn), the statements that differ between dialects, its migrations and
// how concurrent migrators are kept apart.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "store/migrations.hpp"
#include "store/sql_conn.hpp"
#include "store/store.hpp"

namespace hype::store {

// The few statements whose text differs between dialects.
struct Dialect {
  const char* find_user_by_name;     // $1 = username, matched case-insensitively
  const char* has_migrations_table;  // one row if schema_migrations exists
};

class SqlStore : public Store {
 public:
  int migrate() override;
  int schema_version() override;
  bool ping() override;

  void create_user(const User& u) override;
  std::optional<User> find_user(Id id) override;
  std::optional<User> find_user_by_name(const std::string& username) override;

  void insert_refresh_token(const RefreshToken& t) override;
  std::optional<RefreshToken> find_refresh_token(const std::string& token_hash) override;
  bool consume_refresh_token(const std::string& token_hash) override;
  void revoke_token_family(Id family_id) override;
  void delete_expired_refresh_tokens(std::int64_t now_ms) override;

  void create_guild(const Guild& g, const Role& everyone, const std::vector<Channel>& channels,
                    std::int64_t joined_at) override;
  std::optional<Guild> find_guild(Id id) override;
  void update_guild(const Guild& g) override;
  void delete_guild(Id id) override;
  std::vector<Guild> list_user_guilds(Id user_id) override;

  void add_member(const Member& m) override;
  bool remove_member(Id guild_id, Id user_id) override;
  std::optional<Member> find_member(Id guild_id, Id user_id) override;
  std::vector<Member> list_members(Id guild_id, Id after_user_id, int limit) override;
  int count_members(Id guild_id) override;
  void set_member_roles(Id guild_id, Id user_id, const std::vector<Id>& role_ids) override;

  void create_role(const Role& r) override;
  void update_role(const Role& r) override;
  bool delete_role(Id guild_id, Id role_id) override;
  std::vector<Role> list_roles(Id guild_id) override;

  void create_channel(const Channel& c) override;
  std::optional<Channel> find_channel(Id id) override;
  std::optional<ChannelAccess> find_channel_access(Id channel_id, Id user_id) override;
  void update_channel(const Channel& c) override;
  bool delete_channel(Id id) override;
  std::vector<Channel> list_channels(Id guild_id) override;
  void set_channel_positions(Id guild_id,
                             const std::vector<std::pair<Id, int>>& positions) override;

  void create_invite(const Invite& i) override;
  std::optional<Invite> find_invite(const std::string& code) override;
  bool use_invite(const std::string& code, std::int64_t now_ms) override;

  void create_message(const Message& m) override;
  std::optional<Message> find_message(Id id) override;
  void update_message(Id id, const std::string& content, std::int64_t edited_at) override;
  bool delete_message(Id id) override;
  std::vector<Message> list_messages(const MessageQuery& q) override;

  void append_voice_event(const VoiceEventRow& e) override;
  std::vector<VoiceEventRow> list_voice_events(int limit) override;
  void delete_voice_events(const std::vector<Id>& ids) override;
  std::vector<Id> apply_analytics(const std::vector<AnalyticsDelta>& deltas,
                                  std::int64_t now_ms) override;
  std::vector<VoiceDaily> list_voice_daily(Id guild_id, std::int64_t from_day,
                                           std::int64_t to_day) override;
  std::vector<JoinsMinute> list_joins_minutes(Id guild_id, std::int64_t from_minute) override;
  void prune_analytics_processed(std::int64_t before_ms) override;

 protected:
  using ConnFn = std::function<void(SqlConn&)>;
  explicit SqlStore(Dialect dialect) : dialect_(dialect) {}

  // Lends a connection for one call. Reads may go to a replica-like reader connection.
  virtual void with_conn(Access mode, const ConnFn& fn) = 0;
  virtual std::vector<Migration> migrations() const = 0;
  // Holds other processes off while migrations run (PostgreSQL: advisory lock).
  virtual void lock_migrations(SqlConn& c) = 0;
  virtual void unlock_migrations(SqlConn& c) noexcept = 0;

  // One statement outside an explicit transaction.
  std::int64_t exec(Access mode, const char* sql, std::initializer_list<Param> params);
  // Runs fn inside BEGIN/COMMIT on one connection, rolling back if it throws.
  void transaction(Access mode, const ConnFn& fn);

  static std::int64_t run(SqlConn& c, const char* sql, std::initializer_list<Param> params,
                          const SqlConn::RowFn& on_row = {}) {
    return c.run(sql, std::span<const Param>(params.begin(), params.size()), on_row);
  }
  // Runs a read query on a reader connection, collecting rows with `make`.
  template <typename T>
  std::vector<T> query(const char* sql, std::initializer_list<Param> params,
                       T (*make)(const Row&)) {
    std::vector<T> out;
    with_conn(Access::read, [&](SqlConn& c) {
      out.clear();  // a retried read starts over
      run(c, sql, params, [&](const Row& r) { out.push_back(make(r)); });
    });
    return out;
  }
  template <typename T>
  std::optional<T> query_one(const char* sql, std::initializer_list<Param> params,
                             T (*make)(const Row&)) {
    auto rows = query<T>(sql, params, make);
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
  }

 private:
  void fill_roles(SqlConn& c, Id guild_id, std::vector<Member>& members);

  Dialect dialect_;
};

}  // namespace hype::store
