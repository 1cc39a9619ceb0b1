// Access follows rights, at the voice-state level: a real ChatService on a SQLite store, the
// in-process Coordinator and EventBus, and VoiceService fed by the bus as src/app wires it.
// Every change that removes a right must end (or, for SPEAK, suppress) the affected voice
// states, and voice_grant() (what the SFU asks) must stop answering for a token's session.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "chat/permissions.hpp"
#include "core/errors.hpp"
#include "unit/voice/forwarding_coordinator.hpp"
#include "unit/voice/voice_world.hpp"

namespace json = boost::json;
using namespace hype;

namespace {

class VoiceRevocation : public hype::testing::VoiceWorld {
 protected:
  void SetUp() override {
    VoiceWorld::SetUp();
    sub_ = bus_->subscribe([this](const cluster::Event& e) {
      if (e.type == cluster::EventType::voice_state_update) {
        std::lock_guard lock(mu_);
        voice_events_.push_back(json::parse(e.data).as_object());
      } else {
        voice_->on_event(e);
      }
    });
    member_ = user("member");
    auto inv = chat_->create_invite(owner_, guild_, 0, 0);
    chat_->join_invite(member_, inv.code);
  }
  void TearDown() override {
    bus_->unsubscribe(sub_);
    VoiceWorld::TearDown();
  }

  // Joins and returns the voice token's session (what the SFU checks).
  std::uint64_t join(Id who) {
    auto ans = voice_->join(who, voice_channel_, false, false);
    auto check = signer_.verifier().verify(ans.voice_token, "voice", 1);
    EXPECT_TRUE(check.claims.has_value());
    return check.claims ? check.claims->voice_session : 0;
  }
  bool granted(Id who, std::uint64_t session) {
    return voice::voice_grant(*coord_, who, voice_channel_, session).has_value();
  }
  // The last VOICE_STATE_UPDATE published for `who`.
  json::object last_state(Id who) {
    std::lock_guard lock(mu_);
    for (auto it = voice_events_.rbegin(); it != voice_events_.rend(); ++it)
      if (it->at("user_id").as_string() == id_to_string(who)) return *it;
    return {};
  }

  int sub_ = 0;
  std::mutex mu_;
  std::vector<json::object> voice_events_;
  Id member_ = 0;
};

TEST_F(VoiceRevocation, TokenSessionIsBoundToTheCurrentStay) {
  auto s1 = join(member_);
  ASSERT_NE(s1, 0u);
  EXPECT_TRUE(granted(member_, s1));
  // Joining the channel one is already in (a mode switch refreshes its token) keeps the stay.
  EXPECT_EQ(join(member_), s1);
  voice_->leave(member_, voice_channel_);
  EXPECT_FALSE(granted(member_, s1)) << "a token outlived POST /voice/leave";
  auto s2 = join(member_);
  EXPECT_NE(s2, s1);
  EXPECT_FALSE(granted(member_, s1)) << "a token of an earlier stay still opens a session";
  EXPECT_TRUE(granted(member_, s2));
}

TEST_F(VoiceRevocation, KickEndsTheVoiceState) {
  auto s = join(member_);
  chat_->remove_member(owner_, guild_, member_);
  EXPECT_FALSE(coord_->voice_state(member_).has_value());
  EXPECT_FALSE(granted(member_, s));
  EXPECT_TRUE(last_state(member_).at("channel_id").is_null());
}

TEST_F(VoiceRevocation, ChannelAndGuildDeletionEndVoiceStates) {
  auto sm = join(member_);
  auto so = join(owner_);
  chat_->delete_channel(owner_, voice_channel_);
  EXPECT_FALSE(granted(member_, sm));
  EXPECT_FALSE(granted(owner_, so));
  EXPECT_EQ(coord_->active_voice_users(), 0);

  // A new voice channel, then the whole guild goes.
  chat::NewChannel nc;
  nc.name = "talk";
  nc.kind = store::ChannelKind::voice;
  voice_channel_ = chat_->create_channel(owner_, guild_, nc).id;
  sm = join(member_);
  chat_->delete_guild(owner_, guild_);
  EXPECT_FALSE(granted(member_, sm));
  EXPECT_EQ(coord_->active_voice_users(), 0);
}

TEST_F(VoiceRevocation, RemovingConnectEndsAndRemovingSpeakSuppresses) {
  auto sm = join(member_);
  auto so = join(owner_);
  using namespace chat::perm;
  // @everyone loses SPEAK: the member stays, suppressed; the owner keeps every right.
  chat::RolePatch p;
  p.permissions = kDefaultEveryone & ~kSpeak;
  chat_->update_role(owner_, guild_, guild_, p);
  auto g = voice::voice_grant(*coord_, member_, voice_channel_, sm);
  ASSERT_TRUE(g.has_value());
  EXPECT_FALSE(g->may_speak);
  EXPECT_TRUE(last_state(member_).at("suppress").as_bool());
  EXPECT_TRUE(last_state(member_).at("self_mute").as_bool());
  EXPECT_TRUE(voice::voice_grant(*coord_, owner_, voice_channel_, so)->may_speak);
  // Unmuting oneself does not get SPEAK back.
  voice_->update_self(member_, false, false);
  EXPECT_TRUE(coord_->voice_state(member_)->self_mute);

  // SPEAK back: no longer suppressed.
  p.permissions = kDefaultEveryone;
  chat_->update_role(owner_, guild_, guild_, p);
  EXPECT_TRUE(voice::voice_grant(*coord_, member_, voice_channel_, sm)->may_speak);

  // A role that granted CONNECT is taken away from the member: they leave.
  auto role = chat_->create_role(owner_, guild_, "voice", kConnect);
  Id role_id = role.id;
  p.permissions = kDefaultEveryone & ~kConnect;
  chat_->update_role(owner_, guild_, guild_, p);
  EXPECT_FALSE(granted(member_, sm)) << "CONNECT removed from @everyone, member kept voice";
  EXPECT_TRUE(granted(owner_, so));
  chat_->set_member_roles(owner_, guild_, member_, {role_id});
  sm = join(member_);
  chat_->set_member_roles(owner_, guild_, member_, {});
  EXPECT_FALSE(granted(member_, sm)) << "the role granting CONNECT was removed, voice kept";
  chat_->set_member_roles(owner_, guild_, member_, {role_id});
  sm = join(member_);
  chat_->delete_role(owner_, guild_, role_id);
  EXPECT_FALSE(granted(member_, sm)) << "the role granting CONNECT was deleted, voice kept";
}

TEST_F(VoiceRevocation, LosingViewChannelEndsTheVoiceState) {
  auto sm = join(member_);
  chat::RolePatch p;
  p.permissions = chat::perm::kDefaultEveryone & ~chat::perm::kViewChannel;
  chat_->update_role(owner_, guild_, guild_, p);
  EXPECT_FALSE(granted(member_, sm));
}

}  // namespace

// ---- Go Live (screen share, issue 14) ----

TEST_F(VoiceRevocation, GoingLiveNeedsTheChannelAndTheStreamPermission) {
  using namespace chat::perm;
  try {
    voice_->start_stream(member_, voice_channel_);
    ADD_FAILURE() << "went live without being in the channel";
  } catch (const hype::ApiError& e) {
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.code(), "not_in_channel");
  }
  auto s = join(member_);
  EXPECT_FALSE(voice::voice_grant(*coord_, member_, voice_channel_, s)->may_stream);
  auto live = voice_->start_stream(member_, voice_channel_);
  EXPECT_TRUE(live.self_stream);
  EXPECT_TRUE(last_state(member_).at("self_stream").as_bool());
  EXPECT_TRUE(voice::voice_grant(*coord_, member_, voice_channel_, s)->may_stream);
  // A mode switch's rejoin keeps the stream; stopping clears it, and stopping again is nothing.
  join(member_);
  EXPECT_TRUE(coord_->voice_state(member_)->self_stream);
  auto stopped = voice_->stop_stream(member_, voice_channel_);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_FALSE(stopped->self_stream);
  EXPECT_FALSE(last_state(member_).at("self_stream").as_bool());
  EXPECT_FALSE(voice_->stop_stream(member_, voice_channel_).has_value());
  // Without STREAM: refused with the permission named.
  chat::RolePatch p;
  p.permissions = kDefaultEveryone & ~kStream;
  chat_->update_role(owner_, guild_, guild_, p);
  try {
    voice_->start_stream(member_, voice_channel_);
    ADD_FAILURE() << "went live without STREAM";
  } catch (const hype::ApiError& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(e.code(), "missing_permission");
  }
}

TEST_F(VoiceRevocation, LosingStreamOrLeavingEndsTheStream) {
  using namespace chat::perm;
  auto s = join(member_);
  voice_->start_stream(member_, voice_channel_);
  chat::RolePatch p;
  p.permissions = kDefaultEveryone & ~kStream;
  chat_->update_role(owner_, guild_, guild_, p);
  EXPECT_FALSE(coord_->voice_state(member_)->self_stream) << "STREAM removed, still live";
  EXPECT_FALSE(last_state(member_).at("self_stream").as_bool());
  auto g = voice::voice_grant(*coord_, member_, voice_channel_, s);
  ASSERT_TRUE(g.has_value());  // still in voice, only no longer live
  EXPECT_FALSE(g->may_stream);
  p.permissions = kDefaultEveryone;
  chat_->update_role(owner_, guild_, guild_, p);
  voice_->start_stream(member_, voice_channel_);
  voice_->leave(member_, voice_channel_);
  join(member_);
  EXPECT_FALSE(coord_->voice_state(member_)->self_stream) << "a new stay started live";
}

namespace {

// A Coordinator that runs `before_go_live` once, just before the first write that sets
// self_stream: what a concurrent request (STREAM taken away, and the re-check its event
// causes) does between go-live's permission check and its write.
class InterleavedCoordinator final : public hype::testing::ForwardingCoordinator {
 public:
  using ForwardingCoordinator::ForwardingCoordinator;
  std::function<void()> before_go_live;
  cluster::Task<std::optional<cluster::VoiceState>> async_voice_set_stream(Id u, Id c,
                                                                           bool live) override {
    if (live && before_go_live) std::exchange(before_go_live, nullptr)();
    return inner_.async_voice_set_stream(u, c, live);
  }
};

TEST_F(VoiceRevocation, StreamTakenAwayDuringGoLiveLeavesTheUserNotLive) {
  using namespace chat::perm;
  InterleavedCoordinator coord(*coord_);
  voice::VoiceService racing(*chat_, coord, *placement_, *modes_, signer_, voice::VoiceOptions{});
  auto s = join(member_);
  coord.before_go_live = [&] {
    chat::RolePatch p;
    p.permissions = kDefaultEveryone & ~kStream;
    chat_->update_role(owner_, guild_, guild_, p);  // its re-check finds nobody live yet
  };
  try {
    racing.start_stream(member_, voice_channel_);
    ADD_FAILURE() << "went live although STREAM was gone before the write";
  } catch (const hype::ApiError& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(e.code(), "missing_permission");
  }
  EXPECT_FALSE(coord_->voice_state(member_)->self_stream) << "live without STREAM";
  EXPECT_FALSE(voice::voice_grant(*coord_, member_, voice_channel_, s)->may_stream);
  EXPECT_FALSE(last_state(member_).at("self_stream").as_bool());
}

}  // namespace
