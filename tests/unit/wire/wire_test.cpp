// The edge mapping of typed domain results and event bodies: these are the exact bytes the
// REST answers and gateway dispatches carry (docs/protocol.md "Objects"), key order included.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "wire/events.hpp"
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
