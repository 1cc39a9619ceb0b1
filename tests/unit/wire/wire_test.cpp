// The edge mapping of typed domain results and event bodies: these are the exact bytes the
// REST answers and gateway dispatches carry (docs/protocol.md "Objects"), key order included.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <limits>

#include "wire/events.hpp"
#include "wire/message_writer.hpp"
#include "wire/objects.hpp"

using namespace hype;
namespace json = boost::json;

namespace {

std::string s(const json::value& v) {
  return json::serialize(v);
}

store::Member member(Id guild, Id user, const std::string& name) {
  store::Member m;
  m.guild_id = guild;
  m.user_id = user;
  m.username = name;
  m.role_ids = {7};
  return m;
}

}  // namespace

TEST(Wire, MessageCarriesTheNonceOnlyWhenSet) {
  chat::MessageView v{{11, 22, 33, 44, "hi", 0, 0}, "ann", std::nullopt};
  const std::string base =
      R"({"id":"11","channel_id":"22","guild_id":"33","author_id":"44",)"
      R"("author":{"id":"44","username":"ann"},"content":"hi","created_at":null,"edited_at":null)";
  EXPECT_EQ(s(wire::message_json(v)), base + "}");
  v.nonce = "n-1";
  EXPECT_EQ(s(wire::message_json(v)), base + R"(,"nonce":"n-1"})");
}

TEST(Wire, GuildSnapshotIsTheViewPlusMembersPresencesCountAndVoice) {
  chat::GuildSnapshot snap;
  snap.view.guild = {5, "g", 9, 0};
  snap.view.roles = {{5, 5, "@everyone", 3, 0}};
  snap.view.my_permissions = 12345;
  snap.members = {member(5, 9, "owner"), member(5, 10, "bob")};
  snap.online = {10};
  snap.member_count = 2;
  cluster::VoiceState vs;
  vs.guild_id = 5;
  vs.channel_id = 6;
  vs.user_id = 10;
  snap.voice_states = {vs};
  EXPECT_EQ(
      s(wire::guild_snapshot_json(snap)),
      R"({"id":"5","name":"g","owner_id":"9","created_at":null,"channels":[],)"
      R"("roles":[{"id":"5","guild_id":"5","name":"@everyone","permissions":"3","position":0}],)"
      R"("my_permissions":"12345","members":[)"
      R"({"guild_id":"5","user":{"id":"9","username":"owner"},"roles":["7"],"joined_at":null},)"
      R"({"guild_id":"5","user":{"id":"10","username":"bob"},"roles":["7"],"joined_at":null}],)"
      R"("presences":[{"user_id":"10","status":"online"}],"member_count":2,)"
      R"("voice_states":[{"guild_id":"5","channel_id":"6","user_id":"10",)"
      R"("self_mute":false,"self_deaf":false,"suppress":false,"self_stream":false}]})");
}

TEST(Wire, MembersListsAddStatusInvitesAndPreviews) {
  EXPECT_EQ(s(wire::member_view_json({member(5, 10, "bob"), true})),
            R"({"guild_id":"5","user":{"id":"10","username":"bob"},"roles":["7"],)"
            R"("joined_at":null,"status":"online"})");
  store::Invite inv;
  inv.code = "abc";
  inv.guild_id = 5;
  inv.max_uses = 3;
  EXPECT_EQ(s(wire::invite_json(inv)),
            R"({"code":"abc","guild_id":"5","expires_at":null,"max_uses":3})");
  EXPECT_EQ(s(wire::invite_preview_json({"abc", 5, "g", 2})),
            R"({"code":"abc","guild":{"id":"5","name":"g"},"member_count":2})");
}

TEST(Wire, JoinAnswerIceServersAndNodes) {
  voice::JoinAnswer a;
  a.mode = voice::Mode::sfu;
  a.channel_id = 6;
  a.guild_id = 5;
  a.ice_servers = {{{"stun:s"}, "", ""}, {{"turn:t1", "turn:t2"}, "u", "c"}};
  a.voice_token = "tok";
  a.voice_token_expires_at = 1000;
  a.bitrate = 64000;
  auto o = wire::join_answer_json(a);
  EXPECT_EQ(
      s(o.at("ice_servers")),
      R"([{"urls":["stun:s"]},{"urls":["turn:t1","turn:t2"],"username":"u","credential":"c"}])");
  EXPECT_EQ(o.at("mode"), "sfu");
  EXPECT_EQ(o.at("voice_token_expires_at"), wire::time_json(1000));
  EXPECT_TRUE(o.at("sfu").is_null());
  std::vector<std::string> keys;
  for (auto& kv : o) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"mode", "channel_id", "guild_id", "participants",
                                            "ice_servers", "voice_token", "voice_token_expires_at",
                                            "bitrate", "sfu"}));
  a.sfu = cluster::Placed{6, {"node-1", "ws://n1/voice", "eu"}, 1};
  EXPECT_EQ(s(wire::join_answer_json(a).at("sfu")),
            R"({"id":"node-1","region":"eu","url":"ws://n1/voice"})");
  EXPECT_EQ(s(wire::channel_mode_json({6, voice::Mode::p2p})),
            R"({"channel_id":"6","mode":"p2p"})");
}

TEST(Wire, EventBodiesEncodeToTheDispatchPayloads) {
  using wire::encode_event_body;
  EXPECT_EQ(encode_event_body(chat::GuildGone{5}), R"({"id":"5"})");
  EXPECT_EQ(encode_event_body(chat::MemberGone{5, 10, "bob"}),
            R"({"guild_id":"5","user":{"id":"10","username":"bob"}})");
  EXPECT_EQ(
      encode_event_body(chat::RoleChange{5, {8, 5, "r", 1, 2}}),
      R"({"guild_id":"5","role":{"id":"8","guild_id":"5","name":"r","permissions":"1","position":2}})");
  EXPECT_EQ(encode_event_body(chat::RoleGone{5, 8}), R"({"guild_id":"5","role_id":"8"})");
  EXPECT_EQ(encode_event_body(chat::MessageGone{11, 22, 33}),
            R"({"id":"11","channel_id":"22","guild_id":"33"})");
  EXPECT_EQ(encode_event_body(chat::Typing{22, 33, 44, 1700000000}),
            R"({"channel_id":"22","guild_id":"33","user_id":"44","timestamp":1700000000})");
  EXPECT_EQ(encode_event_body(chat::Presence{44, "dnd"}), R"({"user_id":"44","status":"dnd"})");
  EXPECT_EQ(encode_event_body(chat::ModeChange{5, 6, cluster::VoiceMode::sfu}),
            R"({"guild_id":"5","channel_id":"6","mode":"sfu"})");
  EXPECT_EQ(encode_event_body(store::Guild{5, "g", 9, 0}),
            R"({"id":"5","name":"g","owner_id":"9","created_at":null})");
  cluster::VoiceState left;
  left.guild_id = 5;
  left.user_id = 10;
  EXPECT_EQ(encode_event_body(left),
            R"({"guild_id":"5","channel_id":null,"user_id":"10","self_mute":false,)"
            R"("self_deaf":false,"suppress":false,"self_stream":false})");
  EXPECT_EQ(encode_event_body(chat::StreamChange{5, 6, 7, true, {8, 9}}),
            R"({"guild_id":"5","channel_id":"6","user_id":"7","live":true,)"
            R"("viewer_ids":["8","9"],"viewer_count":2})");
}

// The history read writes messages without a DOM (wire/message_writer.hpp): it must answer the
// very bytes the DOM encoder (message_json, serialized by boost::json) answers.
namespace {

std::string dom_messages(const std::vector<chat::MessageView>& ms) {
  return s(wire::array_of(ms, wire::message_json));
}

}  // namespace

TEST(WireMessageWriter, WritesWhatTheDomEncoderWrites) {
  constexpr Id kMax = std::numeric_limits<Id>::max();
  std::vector<chat::MessageView> ms = {
      {{1, 2, 3, 4, "plain", 1, 0}, "ann", std::nullopt},
      {{7262740104953188352, 7262740104953188353, 7262740104953188354, 7262740104953188355,
        "edited ✓ héllo 中文 🎉", 1764945600123, 1764945661001},
       "Ünïcødé 名前",
       std::nullopt},
      {{kMax, kMax - 1, kMax - 2, kMax - 3, "quote \" backslash \\ slash / </script>", 0, 0},
       "q\"uote\\d",
       std::string("nonce \"1\"\n")},
      {{10, 20, 30, 40, "\n\r\t\b\f\x01\x1f\x7f end", 951782400000, 4107542400000},
       "tab\tname",
       std::string("")},
      {{11, 21, 31, 41, "", 253402300799999, 86399999}, "", std::nullopt},
  };
  // Every byte value once, in one message and each alone (the writer does not validate UTF-8,
  // nor does boost::json's serializer).
  std::string all;
  for (int b = 1; b < 256; ++b) {
    all.push_back(static_cast<char>(b));
    ms.push_back({{100 + b, 2, 3, 4, std::string(1, static_cast<char>(b)), 1000L * b, 0},
                  std::string(1, static_cast<char>(b)),
                  std::nullopt});
  }
  all.push_back('\0');  // NUL inside a string
  ms.push_back({{99, 2, 3, 4, all, 5, 6}, all, all});
  for (const auto& m : ms) {
    std::string one;
    wire::append_message_json(one, m);
    ASSERT_EQ(one, s(wire::message_json(m))) << m.message.id;
  }
  EXPECT_EQ(wire::messages_json(ms), dom_messages(ms));
  EXPECT_EQ(wire::messages_json({}), "[]");
  EXPECT_EQ(wire::messages_json({ms[0]}), dom_messages({ms[0]}));
  EXPECT_EQ(wire::messages_json({ms[0]}),
            R"([{"id":"1","channel_id":"2","guild_id":"3","author_id":"4",)"
            R"("author":{"id":"4","username":"ann"},"content":"plain",)"
            R"("created_at":"1970-01-01T00:00:00.001Z","edited_at":null}])");
}

TEST(WireMessageWriter, TimesMatchTheDomEncoderEverywhere) {
  auto same = [](std::int64_t ms) {
    std::string out;
    wire::append_time_json(out, ms);
    EXPECT_EQ(out, s(wire::time_json(ms))) << ms;
  };
  // Edges: the epoch, day and leap-day boundaries (2000 is a leap year, 2100 is not), the last
  // millisecond with a four-digit year, and values the writer hands to format_iso8601.
  const std::int64_t edges[] = {0,
                                1,
                                999,
                                1000,
                                59999,
                                86399999,
                                86400000,
                                951782399999,
                                951782400000,
                                951868800000,
                                4107456000000,
                                4107542400000,
                                1709164800000,
                                1764945600123,
                                253402300799999,
                                253402300800000,
                                253402300800001,
                                -1,
                                -999,
                                -1000,
                                -86400001};
  for (std::int64_t ms : edges) same(ms);
  // Every day from 1970 to 2400 at a varying time of day, and random instants up to year 9999.
  for (std::int64_t day = 0; day < 157000; ++day) same(day * 86400000 + (day * 7919) % 86400000);
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    same(static_cast<std::int64_t>(x % 253402300800000ull));
  }
}

TEST(WireMessageWriter, IdsAreDecimalStrings) {
  for (Id id : {Id{1}, Id{9}, Id{10}, Id{7262740104953188352}, std::numeric_limits<Id>::max()}) {
    std::string out;
    wire::append_id_json(out, id);
    EXPECT_EQ(out, "\"" + id_to_string(id) + "\"");
  }
}
