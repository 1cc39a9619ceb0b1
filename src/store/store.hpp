// Store: the one durable-storage interface. Backends: SQLite (single node, default) and
// PostgreSQL (cluster). Methods are blocking and thread-safe; callers on the event loop run
// them on the bounded database pool. A unique-key clash throws ConflictError; any other
// failure throws StoreError (core/errors.hpp) whose message is for logs, never for clients.
// Multi-row changes that must be atomic are single methods here, each one transaction.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/models.hpp"

namespace hype::store {

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending migrations; returns how many ran. Idempotent.
  virtual int migrate() = 0;
  virtual int schema_version() = 0;
  virtual std::string backend() const = 0;  // "sqlite" | "postgres"
  virtual bool ping() = 0;                  // readiness

  // users
  virtual void create_user(const User& u) = 0;  // ConflictError: username taken (case-insensitive)
  virtual std::optional<User> find_user(Id id) = 0;
  virtual std::optional<User> find_user_by_name(const std::string& username) = 0;

  // refresh tokens
  virtual void insert_refresh_token(const RefreshToken& t) = 0;
  virtual std::optional<RefreshToken> find_refresh_token(const std::string& token_hash) = 0;
  // Marks the token used only if it was unused and not revoked; false otherwise (atomic).
  virtual bool consume_refresh_token(const std::string& token_hash) = 0;
  virtual void revoke_token_family(Id family_id) = 0;
  virtual void delete_expired_refresh_tokens(std::int64_t now_ms) = 0;

  // guilds: creates the guild, its @everyone role (id = guild id), the owner's membership and
  // the given channels in one transaction.
  virtual void create_guild(const Guild& g, const Role& everyone,
                            const std::vector<Channel>& channels, std::int64_t joined_at) = 0;
  virtual std::optional<Guild> find_guild(Id id) = 0;
  virtual void update_guild(const Guild& g) = 0;                // name, owner_id
  virtual void delete_guild(Id id) = 0;                         // and everything in it
  virtual std::vector<Guild> list_user_guilds(Id user_id) = 0;  // by guild id

  // members
  virtual void add_member(const Member& m) = 0;             // ConflictError: already a member
  virtual bool remove_member(Id guild_id, Id user_id) = 0;  // also drops their role links
  virtual std::optional<Member> find_member(Id guild_id, Id user_id) = 0;
  // Members ordered by user id, after `after_user_id`, at most `limit`.
  virtual std::vector<Member> list_members(Id guild_id, Id after_user_id, int limit) = 0;
  virtual int count_members(Id guild_id) = 0;
  virtual void set_member_roles(Id guild_id, Id user_id, const std::vector<Id>& role_ids) = 0;

  // roles
  virtual void create_role(const Role& r) = 0;
  virtual void update_role(const Role& r) = 0;            // name, permissions, position
  virtual bool delete_role(Id guild_id, Id role_id) = 0;  // also drops member links
  virtual std::vector<Role> list_roles(Id guild_id) = 0;  // by position, then id

  // channels
  virtual void create_channel(const Channel& c) = 0;
  virtual std::optional<Channel> find_channel(Id id) = 0;
  // The channel with what a permission check on it needs (see ChannelAccess), consistent with
  // itself; nullopt when there is no such channel.
  virtual std::optional<ChannelAccess> find_channel_access(Id channel_id, Id user_id) = 0;
  // name, topic, position, user_limit, bitrate, rtc_region
  virtual void update_channel(const Channel& c) = 0;
  virtual bool delete_channel(Id id) = 0;                       // and its messages
  virtual std::vector<Channel> list_channels(Id guild_id) = 0;  // by position, then id
  // Sets positions of several channels of one guild in one transaction.
  virtual void set_channel_positions(Id guild_id,
                                     const std::vector<std::pair<Id, int>>& positions) = 0;

  // invites
  virtual void create_invite(const Invite& i) = 0;
  virtual std::optional<Invite> find_invite(const std::string& code) = 0;
  // Adds one use if the invite exists, is not expired at now_ms and has uses left (atomic).
  virtual bool use_invite(const std::string& code, std::int64_t now_ms) = 0;

  // messages
  virtual void create_message(const Message& m) = 0;
  virtual std::optional<Message> find_message(Id id) = 0;
  virtual void update_message(Id id, const std::string& content, std::int64_t edited_at) = 0;
  virtual bool delete_message(Id id) = 0;
  // Newest first. With `after` only: the `limit` messages right after it, still newest first.
  virtual std::vector<Message> list_messages(const MessageQuery& q) = 0;

  // voice event outbox (single-node EventLog)
  virtual void append_voice_event(const VoiceEventRow& e) = 0;          // committed on return
  virtual std::vector<VoiceEventRow> list_voice_events(int limit) = 0;  // by id
  virtual void delete_voice_events(const std::vector<Id>& ids) = 0;

  // analytics rollups. Applies every delta whose event id was not applied before, all in one
  // transaction with the record of the applied ids; returns the ids applied now (the others
  // were duplicates).
  virtual std::vector<Id> apply_analytics(const std::vector<AnalyticsDelta>& deltas,
                                          std::int64_t now_ms) = 0;
  // Days in [from_day, to_day] with any activity, by day; minutes in [from_minute, ...).
  virtual std::vector<VoiceDaily> list_voice_daily(Id guild_id, std::int64_t from_day,
                                                   std::int64_t to_day) = 0;
  virtual std::vector<JoinsMinute> list_joins_minutes(Id guild_id, std::int64_t from_minute) = 0;
  // Forgets applied event ids recorded before `before_ms` (their events are long acknowledged).
  virtual void prune_analytics_processed(std::int64_t before_ms) = 0;
};

// Opens the backend named by the URL: sqlite://<path> or postgres://... (postgresql:// too).
// pool_size bounds the connections (PostgreSQL) or reader connections (SQLite).
std::unique_ptr<Store> open_store(const std::string& url, int pool_size);

}  // namespace hype::store
