// Store suite, part 1: migrations, users, refresh tokens, guilds, members, roles.
#include <algorithm>
#include <thread>

#include "core/errors.hpp"
#include "store_fixture.hpp"

namespace hype::store::testing {
namespace {

TYPED_TEST_SUITE(StoreTest, Backends, BackendNames);

TYPED_TEST(StoreTest, MigrateIsIdempotentAndVersioned) {
  EXPECT_EQ(this->s().schema_version(), kSchemaVersion);
  EXPECT_EQ(this->s().migrate(), 0);
  EXPECT_EQ(this->s().schema_version(), kSchemaVersion);
  auto again = open_store(this->url_, 2);
  EXPECT_EQ(again->migrate(), 0);
  EXPECT_EQ(again->schema_version(), kSchemaVersion);
  EXPECT_EQ(again->backend(), TypeParam::kName);
  EXPECT_TRUE(again->ping());
}

TYPED_TEST(StoreTest, FreshDatabaseIsVersionZero) {
  auto fresh = open_store(this->backend_.fresh_url(), 2);
  EXPECT_EQ(fresh->schema_version(), 0);
  EXPECT_EQ(fresh->migrate(), kSchemaVersion);
  EXPECT_EQ(fresh->schema_version(), kSchemaVersion);
}

TYPED_TEST(StoreTest, ConcurrentMigrateRunsEachMigrationOnce) {
  std::string url = this->backend_.fresh_url();
  auto a = open_store(url, 2);
  auto b = open_store(url, 2);
  int ran_a = -1, ran_b = -1;
  std::thread ta([&] { ran_a = a->migrate(); });
  std::thread tb([&] { ran_b = b->migrate(); });
  ta.join();
  tb.join();
  EXPECT_EQ(ran_a + ran_b, kSchemaVersion);
  EXPECT_EQ(a->schema_version(), kSchemaVersion);
  EXPECT_EQ(b->schema_version(), kSchemaVersion);
}

TYPED_TEST(StoreTest, UsernamesAreUniqueIgnoringCase) {
  User alice = this->user(1, "Alice");
  try {
    this->s().create_user(User{2, "aLICE", "$argon2id$other-hash", 5});
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& e) {
    EXPECT_EQ(std::string(e.what()).find("other-hash"), std::string::npos);
  }
  EXPECT_THROW(this->s().create_user(User{1, "bob", "h", 5}), ConflictError);  // same id

  auto found = this->s().find_user_by_name("ALICE");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, 1);
  EXPECT_EQ(found->username, "Alice");
  EXPECT_EQ(found->password_hash, alice.password_hash);
  EXPECT_EQ(found->created_at, alice.created_at);
  EXPECT_FALSE(this->s().find_user_by_name("alic"));
  EXPECT_FALSE(this->s().find_user(2));
  ASSERT_TRUE(this->s().find_user(1));
  EXPECT_EQ(this->s().find_user(1)->username, "Alice");
}

TYPED_TEST(StoreTest, TextRoundTripsExactly) {
  std::string odd = "o'hara\"; DROP TABLE users; -- \xF0\x9F\x8E\xA7 \\ $1 ?1";
  this->user(1, odd);
  auto u = this->s().find_user(1);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->username, odd);
  EXPECT_TRUE(this->s().find_user_by_name(odd));
}

TYPED_TEST(StoreTest, RefreshTokenIsConsumedOnce) {
  this->user(1, "alice");
  RefreshToken t{"hash-a", 1, 77, 99999, false, false};
  this->s().insert_refresh_token(t);
  try {
    this->s().insert_refresh_token(t);
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& e) {
    EXPECT_EQ(std::string(e.what()).find("hash-a"), std::string::npos) << e.what();
  }
  auto before = this->s().find_refresh_token("hash-a");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->user_id, 1);
  EXPECT_EQ(before->family_id, 77);
  EXPECT_EQ(before->expires_at, 99999);
  EXPECT_FALSE(before->used);
  EXPECT_FALSE(before->revoked);

  EXPECT_TRUE(this->s().consume_refresh_token("hash-a"));
  EXPECT_FALSE(this->s().consume_refresh_token("hash-a"));
  EXPECT_FALSE(this->s().consume_refresh_token("no-such-hash"));
  auto after = this->s().find_refresh_token("hash-a");
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->used);
  EXPECT_FALSE(after->revoked);
}

TYPED_TEST(StoreTest, RevokingAFamilyRevokesOnlyIt) {
  this->user(1, "alice");
  this->s().insert_refresh_token({"a1", 1, 10, 500, true, false});
  this->s().insert_refresh_token({"a2", 1, 10, 500, false, false});
  this->s().insert_refresh_token({"b1", 1, 20, 500, false, false});
  this->s().revoke_token_family(10);
  EXPECT_TRUE(this->s().find_refresh_token("a1")->revoked);
  EXPECT_TRUE(this->s().find_refresh_token("a2")->revoked);
  EXPECT_FALSE(this->s().find_refresh_token("b1")->revoked);
  EXPECT_FALSE(this->s().consume_refresh_token("a2"));  // revoked, although unused
  EXPECT_TRUE(this->s().consume_refresh_token("b1"));

  this->s().insert_refresh_token({"old", 1, 30, 100, false, false});
  this->s().delete_expired_refresh_tokens(100);
  EXPECT_FALSE(this->s().find_refresh_token("old"));
  EXPECT_TRUE(this->s().find_refresh_token("a1"));
}

TYPED_TEST(StoreTest, GuildBundleIsCreatedAtomically) {
  this->user(1, "owner");
  Guild g = this->guild(
      100, 1, {this->channel(101, 100, 0), this->channel(102, 100, 1, ChannelKind::voice)});
  auto found = this->s().find_guild(100);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, g.name);
  EXPECT_EQ(found->owner_id, 1);
  EXPECT_EQ(found->created_at, g.created_at);
  auto roles = this->s().list_roles(100);
  ASSERT_EQ(roles.size(), 1u);
  EXPECT_EQ(roles[0].id, 100);
  EXPECT_EQ(roles[0].permissions, 0x3u);
  auto owner = this->s().find_member(100, 1);
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->joined_at, 3100);
  EXPECT_EQ(owner->username, "owner");
  EXPECT_TRUE(owner->role_ids.empty());
  auto chans = this->s().list_channels(100);
  ASSERT_EQ(chans.size(), 2u);
  EXPECT_EQ(chans[1].kind, ChannelKind::voice);
  EXPECT_EQ(chans[1].bitrate, 64000);

  // Channel 101 exists already: the second guild must leave nothing behind.
  EXPECT_THROW(this->guild(200, 1, {this->channel(201, 200, 0), this->channel(101, 200, 1)}),
               ConflictError);
  EXPECT_FALSE(this->s().find_guild(200));
  EXPECT_TRUE(this->s().list_roles(200).empty());
  EXPECT_FALSE(this->s().find_member(200, 1));
  EXPECT_FALSE(this->s().find_channel(201));
  auto guilds = this->s().list_user_guilds(1);
  ASSERT_EQ(guilds.size(), 1u);
  EXPECT_EQ(guilds[0].id, 100);
}

TYPED_TEST(StoreTest, UpdateAndListGuilds) {
  this->user(1, "a");
  this->user(2, "b");
  this->guild(300, 1);
  this->guild(100, 2);
  this->guild(200, 1);
  this->s().add_member(Member{100, 1, "", 9, {}});
  std::vector<Id> ids;
  for (auto& g : this->s().list_user_guilds(1)) ids.push_back(g.id);
  EXPECT_EQ(ids, (std::vector<Id>{100, 200, 300}));
  this->s().update_guild(Guild{200, "renamed", 2, 0});
  auto g = this->s().find_guild(200);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->name, "renamed");
  EXPECT_EQ(g->owner_id, 2);
  EXPECT_EQ(g->created_at, 2200);  // not changed by update
}

TYPED_TEST(StoreTest, DeletingAGuildDeletesEverythingInIt) {
  this->user(1, "owner");
  this->user(2, "member");
  this->guild(100, 1, {this->channel(101, 100, 0), this->channel(102, 100, 1)});
  this->guild(900, 1, {this->channel(901, 900, 0)});
  this->s().create_role(Role{110, 100, "mod", 8, 1});
  this->s().add_member(Member{100, 2, "", 50, {110}});
  this->s().add_member(Member{900, 2, "", 50, {}});
  this->message(1001, 101, 100, 2);
  this->message(1002, 102, 100, 1);
  this->message(1003, 901, 900, 1);
  this->s().create_invite(Invite{"abc", 100, 1, 1, 0, 0, 0});

  this->s().delete_guild(100);
  EXPECT_FALSE(this->s().find_guild(100));
  EXPECT_TRUE(this->s().list_roles(100).empty());
  EXPECT_EQ(this->s().count_members(100), 0);
  EXPECT_TRUE(this->s().list_channels(100).empty());
  EXPECT_FALSE(this->s().find_channel(101));
  EXPECT_FALSE(this->s().find_message(1001));
  EXPECT_FALSE(this->s().find_message(1002));
  EXPECT_FALSE(this->s().find_invite("abc"));
  // The other guild is untouched, and the users remain.
  EXPECT_TRUE(this->s().find_guild(900));
  EXPECT_TRUE(this->s().find_message(1003));
  EXPECT_EQ(this->s().count_members(900), 2);
  EXPECT_TRUE(this->s().find_user(2));
  ASSERT_EQ(this->s().list_user_guilds(2).size(), 1u);
}

TYPED_TEST(StoreTest, MembersCarryUsernamesAndRoles) {
  for (Id u = 1; u <= 5; ++u) this->user(u, "user" + std::to_string(u));
  this->guild(100, 1);
  this->s().create_role(Role{120, 100, "b", 2, 2});
  this->s().create_role(Role{110, 100, "a", 1, 1});
  for (Id u = 2; u <= 5; ++u) this->s().add_member(Member{100, u, "", 100 + u, {}});
  EXPECT_THROW(this->s().add_member(Member{100, 3, "", 1, {}}), ConflictError);
  EXPECT_EQ(this->s().count_members(100), 5);

  // @everyone (the guild id) is implicit and never stored; duplicates collapse.
  this->s().set_member_roles(100, 3, {120, 110, 100, 120});
  this->s().set_member_roles(100, 4, {110});
  auto m3 = this->s().find_member(100, 3);
  ASSERT_TRUE(m3);
  EXPECT_EQ(m3->username, "user3");
  EXPECT_EQ(m3->joined_at, 103);
  EXPECT_EQ(m3->role_ids, (std::vector<Id>{110, 120}));

  auto page1 = this->s().list_members(100, 0, 3);
  ASSERT_EQ(page1.size(), 3u);
  EXPECT_EQ(page1[0].user_id, 1);
  EXPECT_EQ(page1[2].user_id, 3);
  EXPECT_EQ(page1[2].role_ids, (std::vector<Id>{110, 120}));
  EXPECT_TRUE(page1[1].role_ids.empty());
  auto page2 = this->s().list_members(100, 3, 3);
  ASSERT_EQ(page2.size(), 2u);
  EXPECT_EQ(page2[0].user_id, 4);
  EXPECT_EQ(page2[0].username, "user4");
  EXPECT_EQ(page2[0].role_ids, (std::vector<Id>{110}));
  EXPECT_TRUE(page2[1].role_ids.empty());

  // Replacing roles, deleting a role, removing and re-adding a member.
  this->s().set_member_roles(100, 3, {120});
  EXPECT_EQ(this->s().find_member(100, 3)->role_ids, (std::vector<Id>{120}));
  EXPECT_TRUE(this->s().delete_role(100, 120));
  EXPECT_FALSE(this->s().delete_role(100, 120));
  EXPECT_TRUE(this->s().find_member(100, 3)->role_ids.empty());
  EXPECT_TRUE(this->s().remove_member(100, 4));
  EXPECT_FALSE(this->s().remove_member(100, 4));
  EXPECT_FALSE(this->s().find_member(100, 4));
  this->s().add_member(Member{100, 4, "", 1, {}});
  EXPECT_TRUE(this->s().find_member(100, 4)->role_ids.empty());
  EXPECT_EQ(this->s().count_members(100), 5);
}

TYPED_TEST(StoreTest, RolesAreOrderedAndUpdatable) {
  this->user(1, "o");
  this->guild(100, 1);
  this->s().create_role(Role{130, 100, "c", 1, 1});
  this->s().create_role(Role{120, 100, "b", 1, 1});
  this->s().create_role(Role{110, 100, "a", 0xFFFFFFFFFFFFFFFFull, 2});
  EXPECT_THROW(this->s().create_role(Role{110, 100, "dup", 0, 3}), ConflictError);
  auto roles = this->s().list_roles(100);
  std::vector<Id> ids;
  for (auto& r : roles) ids.push_back(r.id);
  EXPECT_EQ(ids, (std::vector<Id>{100, 120, 130, 110}));
  EXPECT_EQ(roles[3].permissions, 0xFFFFFFFFFFFFFFFFull);  // all 64 bits survive
  this->s().update_role(Role{130, 100, "renamed", 42, 0});
  roles = this->s().list_roles(100);
  EXPECT_EQ(roles[1].id, 130);  // position 0 after @everyone (0, lower id)
  EXPECT_EQ(roles[1].name, "renamed");
  EXPECT_EQ(roles[1].permissions, 42u);
}

}  // namespace
}  // namespace hype::store::testing
