// Store suite, part 2: channels, invites, messages, concurrency, reconnects, open_store.
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include <unistd.h>

#include "core/errors.hpp"
#include "store_fixture.hpp"

namespace hype::store::testing {
namespace {

TYPED_TEST_SUITE(StoreTest, Backends, BackendNames);

std::vector<Id> ids_of(const std::vector<Message>& ms) {
  std::vector<Id> out;
  for (auto& m : ms) out.push_back(m.id);
  return out;
}

std::vector<Id> ids_of(const std::vector<Channel>& cs) {
  std::vector<Id> out;
  for (auto& c : cs) out.push_back(c.id);
  return out;
}

TYPED_TEST(StoreTest, ChannelsReorderUpdateAndDelete) {
  this->user(1, "o");
  this->guild(100, 1, {this->channel(101, 100, 0), this->channel(102, 100, 1)});
  this->guild(200, 1, {this->channel(201, 200, 0)});
  this->s().create_channel(this->channel(103, 100, 2, ChannelKind::voice));
  EXPECT_THROW(this->s().create_channel(this->channel(103, 100, 3)), ConflictError);
  EXPECT_EQ(ids_of(this->s().list_channels(100)), (std::vector<Id>{101, 102, 103}));

  // 201 belongs to another guild: it must not move.
  this->s().set_channel_positions(100, {{101, 2}, {102, 0}, {103, 1}, {201, 9}});
  EXPECT_EQ(ids_of(this->s().list_channels(100)), (std::vector<Id>{102, 103, 101}));
  EXPECT_EQ(this->s().find_channel(201)->position, 0);

  Channel c = *this->s().find_channel(103);
  EXPECT_EQ(c.kind, ChannelKind::voice);
  EXPECT_EQ(c.rtc_region, "") << "automatic unless set";
  c.name = "Lounge";
  c.topic = "talk";
  c.user_limit = 25;
  c.bitrate = 96000;
  c.rtc_region = "eu-west";
  c.kind = ChannelKind::text;  // not updatable
  this->s().update_channel(c);
  auto got = this->s().find_channel(103);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "Lounge");
  EXPECT_EQ(got->topic, "talk");
  EXPECT_EQ(got->user_limit, 25);
  EXPECT_EQ(got->bitrate, 96000);
  EXPECT_EQ(got->rtc_region, "eu-west");
  EXPECT_EQ(got->kind, ChannelKind::voice);
  EXPECT_EQ(got->guild_id, 100);
  EXPECT_EQ(got->created_at, 5103);

  this->message(1, 101, 100, 1);
  this->message(2, 102, 100, 1);
  EXPECT_TRUE(this->s().delete_channel(101));
  EXPECT_FALSE(this->s().delete_channel(101));
  EXPECT_FALSE(this->s().find_message(1));
  EXPECT_TRUE(this->s().find_message(2));
  EXPECT_EQ(ids_of(this->s().list_channels(100)), (std::vector<Id>{102, 103}));
}

// find_channel_access is one statement standing for find_channel + find_guild + find_member +
// list_roles: it must read exactly what they read, for members, non-members and strangers.
void expect_access_as_separate_reads(Store& s, Id channel, Id user) {
  auto got = s.find_channel_access(channel, user);
  ASSERT_TRUE(got) << "channel " << channel;
  auto c = s.find_channel(channel);
  auto g = s.find_guild(c->guild_id);
  auto m = s.find_member(c->guild_id, user);
  auto roles = s.list_roles(c->guild_id);
  EXPECT_EQ(got->channel.id, c->id);
  EXPECT_EQ(got->channel.guild_id, c->guild_id);
  EXPECT_EQ(got->channel.name, c->name);
  EXPECT_EQ(got->channel.kind, c->kind);
  EXPECT_EQ(got->channel.position, c->position);
  EXPECT_EQ(got->channel.topic, c->topic);
  EXPECT_EQ(got->channel.user_limit, c->user_limit);
  EXPECT_EQ(got->channel.bitrate, c->bitrate);
  EXPECT_EQ(got->channel.rtc_region, c->rtc_region);
  EXPECT_EQ(got->channel.created_at, c->created_at);
  EXPECT_EQ(got->guild.id, g->id);
  EXPECT_EQ(got->guild.name, g->name);
  EXPECT_EQ(got->guild.owner_id, g->owner_id);
  EXPECT_EQ(got->guild.created_at, g->created_at);
  ASSERT_EQ(got->member.has_value(), m.has_value()) << "user " << user;
  if (m) {
    EXPECT_EQ(got->member->guild_id, m->guild_id);
    EXPECT_EQ(got->member->user_id, m->user_id);
    EXPECT_EQ(got->member->username, m->username);
    EXPECT_EQ(got->member->joined_at, m->joined_at);
    EXPECT_EQ(got->member->role_ids, m->role_ids);
  }
  ASSERT_EQ(got->roles.size(), roles.size());
  for (std::size_t i = 0; i < roles.size(); ++i) {
    EXPECT_EQ(got->roles[i].id, roles[i].id);
    EXPECT_EQ(got->roles[i].guild_id, roles[i].guild_id);
    EXPECT_EQ(got->roles[i].name, roles[i].name);
    EXPECT_EQ(got->roles[i].permissions, roles[i].permissions);
    EXPECT_EQ(got->roles[i].position, roles[i].position);
  }
}

TYPED_TEST(StoreTest, ChannelAccessReadsWhatTheSeparateReadsRead) {
  for (Id u = 1; u <= 4; ++u) this->user(u, "user" + std::to_string(u));
  Channel voice = this->channel(102, 100, 1, ChannelKind::voice);
  voice.topic = "ü \"quoted\"";
  voice.user_limit = 7;
  voice.rtc_region = "eu-west";
  this->guild(100, 1, {this->channel(101, 100, 0), voice});
  this->guild(200, 4, {this->channel(201, 200, 0)});
  this->s().create_role(Role{130, 100, "c", 0xFFFFFFFFFFFFFFFFull, 2});
  this->s().create_role(Role{120, 100, "b", 1 << 5, 1});
  this->s().create_role(Role{110, 100, "a", 1 << 6, 1});
  this->s().create_role(Role{210, 200, "other guild", 1 << 10, 1});
  this->s().add_member(Member{100, 2, "", 102, {}});
  this->s().add_member(Member{100, 3, "", 103, {}});
  this->s().set_member_roles(100, 2, {130, 110});
  this->s().add_member(Member{200, 3, "", 203, {}});
  this->s().set_member_roles(200, 3, {210});

  for (Id ch : {101, 102, 201})
    for (Id u : {1, 2, 3, 4, 99}) expect_access_as_separate_reads(this->s(), ch, u);

  auto a = this->s().find_channel_access(101, 2);
  ASSERT_TRUE(a && a->member);
  EXPECT_EQ(a->member->role_ids, (std::vector<Id>{110, 130}));  // by id; @everyone implicit
  EXPECT_EQ(a->roles.size(), 4u);
  EXPECT_FALSE(this->s().find_channel_access(101, 4)->member) << "a member of another guild";
  EXPECT_FALSE(this->s().find_channel_access(101, 99)->member) << "no such user";
  EXPECT_FALSE(this->s().find_channel_access(999, 2)) << "no such channel";

  // Without any role (the store allows deleting @everyone) the channel still reads.
  for (Id r : {100, 110, 120, 130}) EXPECT_TRUE(this->s().delete_role(100, r));
  expect_access_as_separate_reads(this->s(), 101, 2);
  EXPECT_TRUE(this->s().find_channel_access(101, 2)->roles.empty());
  EXPECT_TRUE(this->s().find_channel_access(101, 2)->member->role_ids.empty());
  this->s().remove_member(100, 2);
  EXPECT_FALSE(this->s().find_channel_access(101, 2)->member);
  this->s().delete_guild(100);
  EXPECT_FALSE(this->s().find_channel_access(101, 3));
}

TYPED_TEST(StoreTest, InvitesHonourUseLimitsAndExpiry) {
  this->user(1, "o");
  this->guild(100, 1);
  this->s().create_invite(Invite{"two", 100, 1, 10, 0, 2, 0});
  this->s().create_invite(Invite{"free", 100, 1, 10, 0, 0, 0});
  this->s().create_invite(Invite{"soon", 100, 1, 10, 5000, 0, 0});
  EXPECT_THROW(this->s().create_invite(Invite{"two", 100, 1, 10, 0, 0, 0}), ConflictError);

  EXPECT_TRUE(this->s().use_invite("two", 1000));
  EXPECT_TRUE(this->s().use_invite("two", 1000));
  EXPECT_FALSE(this->s().use_invite("two", 1000));
  auto two = this->s().find_invite("two");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->uses, 2);
  EXPECT_EQ(two->max_uses, 2);
  EXPECT_EQ(two->guild_id, 100);
  EXPECT_EQ(two->inviter_id, 1);

  for (int i = 0; i < 5; ++i) EXPECT_TRUE(this->s().use_invite("free", 1000));
  EXPECT_EQ(this->s().find_invite("free")->uses, 5);

  EXPECT_TRUE(this->s().use_invite("soon", 4999));
  EXPECT_FALSE(this->s().use_invite("soon", 5000));  // expires_at is exclusive
  EXPECT_FALSE(this->s().use_invite("soon", 6000));
  EXPECT_EQ(this->s().find_invite("soon")->uses, 1);
  EXPECT_FALSE(this->s().use_invite("nope", 1));
  EXPECT_FALSE(this->s().find_invite("nope"));
}

TYPED_TEST(StoreTest, InviteUsesAreAtomicUnderContention) {
  this->user(1, "o");
  this->guild(100, 1);
  this->s().create_invite(Invite{"race", 100, 1, 10, 0, 7, 0});
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i)
        if (this->s().use_invite("race", 1)) ++granted;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 7);
  EXPECT_EQ(this->s().find_invite("race")->uses, 7);
}

TYPED_TEST(StoreTest, MessagesPageNewestFirst) {
  this->user(1, "o");
  this->guild(100, 1, {this->channel(10, 100, 0), this->channel(20, 100, 1)});
  for (Id id = 101; id <= 110; ++id) {
    this->message(id, 10, 100, 1);
    this->message(id + 100, 20, 100, 1);  // another channel, interleaved ids
  }
  auto list = [&](std::optional<Id> before, std::optional<Id> after, int limit) {
    return ids_of(this->s().list_messages(MessageQuery{10, before, after, limit}));
  };
  using V = std::vector<Id>;
  EXPECT_EQ(list({}, {}, 50), (V{110, 109, 108, 107, 106, 105, 104, 103, 102, 101}));
  EXPECT_EQ(list({}, {}, 3), (V{110, 109, 108}));
  EXPECT_EQ(list(105, {}, 3), (V{104, 103, 102}));
  EXPECT_EQ(list(102, {}, 3), (V{101}));
  EXPECT_EQ(list(101, {}, 3), V{});
  // after only: the page right after the cursor, still newest first
  EXPECT_EQ(list({}, 103, 3), (V{106, 105, 104}));
  EXPECT_EQ(list({}, 108, 5), (V{110, 109}));
  EXPECT_EQ(list({}, 110, 5), V{});
  // both: between them, newest first
  EXPECT_EQ(list(107, 102, 10), (V{106, 105, 104, 103}));
  EXPECT_EQ(list(107, 102, 2), (V{106, 105}));
  EXPECT_EQ(list({}, {}, 0), V{});
  EXPECT_EQ(ids_of(this->s().list_messages(MessageQuery{20, {}, {}, 2})), (V{210, 209}));
  EXPECT_TRUE(this->s().list_messages(MessageQuery{999, {}, {}, 10}).empty());

  auto one = this->s().list_messages(MessageQuery{10, 102, {}, 1});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].channel_id, 10);
  EXPECT_EQ(one[0].guild_id, 100);
  EXPECT_EQ(one[0].author_id, 1);
  EXPECT_EQ(one[0].content, "msg 101");
  EXPECT_EQ(one[0].created_at, 7101);
  EXPECT_EQ(one[0].edited_at, 0);
}

TYPED_TEST(StoreTest, MessagesCanBeEditedAndDeleted) {
  this->user(1, "o");
  this->guild(100, 1, {this->channel(10, 100, 0)});
  this->message(1, 10, 100, 1);
  this->message(2, 10, 100, 1);
  EXPECT_THROW(this->message(2, 10, 100, 1), ConflictError);
  this->s().update_message(1, "edited \xE2\x9C\x93", 9999);
  auto m = this->s().find_message(1);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->content, "edited \xE2\x9C\x93");
  EXPECT_EQ(m->edited_at, 9999);
  EXPECT_EQ(m->created_at, 7001);
  EXPECT_EQ(this->s().find_message(2)->edited_at, 0);

  EXPECT_TRUE(this->s().delete_message(1));
  EXPECT_FALSE(this->s().delete_message(1));
  EXPECT_FALSE(this->s().find_message(1));
  EXPECT_EQ(ids_of(this->s().list_messages(MessageQuery{10, {}, {}, 10})), (std::vector<Id>{2}));
  // A message needs an existing channel.
  EXPECT_THROW(this->message(3, 999, 100, 1), StoreError);
}

TYPED_TEST(StoreTest, ConcurrentInsertsFromSeveralThreads) {
  constexpr int kThreads = 4, kPerThread = 100;
  this->user(1, "o");
  this->guild(100, 1, {this->channel(10, 100, 0)});
  std::atomic<int> errors{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < kPerThread; ++i) {
          Id id = 1000 + i * kThreads + t;
          this->s().create_message(Message{id, 10, 100, 1, "m", id, 0});
          if (i % 10 == 0) this->user(100000 + id, "u" + std::to_string(id));
        }
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << e.what();
      }
    });
  std::thread reader([&] {
    while (!done) {
      auto page = this->s().list_messages(MessageQuery{10, {}, {}, 20});
      for (std::size_t i = 1; i < page.size(); ++i)
        if (page[i - 1].id <= page[i].id) ++errors;
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  auto all = this->s().list_messages(MessageQuery{10, {}, {}, 1000});
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(all.front().id, 1000 + kThreads * kPerThread - 1);
  EXPECT_EQ(all.back().id, 1000);
  std::set<Id> unique;
  for (auto& m : all) unique.insert(m.id);
  EXPECT_EQ(unique.size(), all.size());
}

TYPED_TEST(StoreTest, SurvivesBrokenConnections) {
  this->user(1, "before");
  ASSERT_TRUE(this->s().find_user(1));
  this->backend_.break_connections();
  EXPECT_TRUE(this->s().ping());
  EXPECT_EQ(this->s().find_user(1)->username, "before");
  this->backend_.break_connections();
  this->user(2, "after");  // a write on a fresh connection
  EXPECT_TRUE(this->s().find_user_by_name("AFTER"));
}

TEST(OpenStore, SqliteUrlCreatesParentDirectories) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("hype-open-store-" + std::to_string(getpid()));
  fs::remove_all(dir);
  auto s = open_store("sqlite://" + (dir / "a" / "b" / "x.db").string(), 2);
  EXPECT_EQ(s->backend(), "sqlite");
  EXPECT_EQ(s->migrate(), kSchemaVersion);
  EXPECT_TRUE(fs::exists(dir / "a" / "b" / "x.db"));
  s.reset();
  fs::remove_all(dir);
}

TEST(OpenStore, RejectsUnknownSchemesWithoutEchoingSecrets) {
  try {
    open_store("mysql://user:hunter2@host/db", 2);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
  EXPECT_THROW(open_store("sqlite://", 2), StoreError);
}

TEST(OpenStore, WithDatabaseReplacesTheName) {
  EXPECT_EQ(with_database("postgresql://u@h:5/postgres", "t1"), "postgresql://u@h:5/t1");
  EXPECT_EQ(with_database("postgres://u@h:5", "t1"), "postgres://u@h:5/t1");
  EXPECT_EQ(with_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable");
}

}  // namespace
}  // namespace hype::store::testing
