// The typed fixture: every TYPED_TEST runs once on SQLite and once on PostgreSQL, each on a
// fresh, migrated database.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/store.hpp"
#include "test_backends.hpp"

namespace hype::store::testing {

// Migrations in src/store/migrations/<dialect>/ (each dialect has the same versions).
inline constexpr int kSchemaVersion = 3;

template <typename Backend>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = backend_.fresh_url();
    store_ = open_store(url_, 4);
    ASSERT_EQ(store_->migrate(), kSchemaVersion);
  }
  Store& s() { return *store_; }

  User user(Id id, const std::string& name) {
    User u{id, name, "$argon2id$v=19$secret-hash-" + std::to_string(id), 1000 + id};
    s().create_user(u);
    return u;
  }
  Channel channel(Id id, Id guild, int position, ChannelKind kind = ChannelKind::text) {
    Channel c;
    c.id = id;
    c.guild_id = guild;
    c.name = "chan-" + std::to_string(id);
    c.kind = kind;
    c.position = position;
    c.created_at = 5000 + id;
    return c;
  }
  // A guild owned by `owner` with its @everyone role and the given channels.
  Guild guild(Id id, Id owner, std::vector<Channel> channels = {}) {
    Guild g{id, "guild-" + std::to_string(id), owner, 2000 + id};
    s().create_guild(g, Role{id, id, "@everyone", 0x3, 0}, channels, 3000 + id);
    return g;
  }
  Message message(Id id, Id channel, Id guild, Id author) {
    Message m{id, channel, guild, author, "msg " + std::to_string(id), 7000 + id, 0};
    s().create_message(m);
    return m;
  }

  Backend backend_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

struct BackendNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Backends = ::testing::Types<SqliteBackend, PgBackend>;

}  // namespace hype::store::testing
