// VoiceService places channels through the Placement seam: a join places the channel on the
// announced SFU node (the voice token names it), the last leave releases it, and without any
// SFU node voice stays peer to peer (no node in the answer or the token).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "unit/voice/voice_world.hpp"

namespace json = boost::json;
using namespace hype;

namespace {

class VoicePlacement : public hype::testing::VoiceWorld {
 protected:
  std::string token_node(const voice::JoinAnswer& ans) {
    auto check = signer_.verifier().verify(ans.voice_token, "voice", 1);
    EXPECT_TRUE(check.claims.has_value());
    return check.claims ? check.claims->node : "?";
  }
};

}  // namespace

TEST_F(VoicePlacement, WithoutAnSfuNodeVoiceStaysPeerToPeer) {
  auto ans = voice_->join(owner_, voice_channel_, false, false);
  EXPECT_TRUE(!ans.sfu);
  EXPECT_EQ(token_node(ans), "");
  EXPECT_TRUE(!voice_->sfu_node(owner_, voice_channel_));
}

TEST_F(VoicePlacement, JoinPlacesAndLastLeaveReleases) {
  placement_->announce({"node-7", "ws://sfu7/voice", ""});
  EXPECT_EQ(voice_->sfu_node(owner_, voice_channel_)->node.id, "node-7");
  EXPECT_FALSE(placement_->lookup(voice_channel_))
      << "asking for the node of an empty channel places nothing";

  auto ans = voice_->join(owner_, voice_channel_, false, false);
  EXPECT_EQ(ans.sfu->node.id, "node-7");
  EXPECT_EQ(ans.sfu->node.url, "ws://sfu7/voice");
  EXPECT_EQ(token_node(ans), "node-7");
  auto placed = placement_->lookup(voice_channel_);
  ASSERT_TRUE(placed);
  EXPECT_EQ(voice_->sfu_node(owner_, voice_channel_)->node.id, "node-7");

  // A rejoin keeps the placement (same epoch); the last leave releases it.
  voice_->join(owner_, voice_channel_, true, false);
  EXPECT_EQ(placement_->lookup(voice_channel_)->epoch, placed->epoch);
  voice_->leave(owner_, voice_channel_);
  EXPECT_FALSE(placement_->lookup(voice_channel_));
}

TEST_F(VoicePlacement, ModeTickerAnnouncesInTheChannelsGuild) {
  // Mode state lives in the ModeCoordinator: the service's tick announces what it says is due.
  auto modes = cluster::make_local_mode_coordinator({"auto", 0, 0});
  voice::VoiceService v(*chat_, *coord_, *placement_, *modes, signer_, voice::VoiceOptions{});
  std::vector<std::string> events;
  int sub = bus_->subscribe([&](const cluster::Event& e) {
    if (e.type == cluster::EventType::voice_mode_update) {
      EXPECT_EQ(e.guild_id, guild_);
      events.push_back(std::string(json::parse(e.data).at("mode").as_string()));
    }
  });
  auto ans = v.join(owner_, voice_channel_, false, false);
  EXPECT_STREQ(voice::mode_name(ans.mode), "sfu") << "1 > p2p_max_users 0";
  EXPECT_STREQ(voice::mode_name(v.channel_mode(owner_, voice_channel_).mode), "sfu");
  v.tick();  // 1 participant is not <= 0 - 2: stays
  EXPECT_EQ(events, std::vector<std::string>{"sfu"});
  bus_->unsubscribe(sub);
}

// A state the store lost is written back under the session the client names (its SFU
// connection keeps its grant); a user who still has a state keeps theirs whatever it names.
TEST_F(VoicePlacement, AJoinNamingASessionWritesALostStateBackUnderIt) {
  auto session_of = [&](const voice::JoinAnswer& ans) {
    auto check = signer_.verifier().verify(ans.voice_token, "voice", 1);
    EXPECT_TRUE(check.claims.has_value());
    return check.claims ? check.claims->voice_session : 0;
  };
  auto first = voice_->join(owner_, voice_channel_, false, false);
  const auto s1 = session_of(first);
  ASSERT_GT(s1, 0U);
  auto again = voice_->join(owner_, voice_channel_, false, false, {}, {}, 12345);
  EXPECT_EQ(session_of(again), s1) << "still in the channel: the stay is kept";
  voice_->leave(owner_, voice_channel_);  // as if the store forgot it
  auto back = voice_->join(owner_, voice_channel_, false, false, {}, {}, static_cast<Id>(s1));
  EXPECT_EQ(session_of(back), s1);
  ASSERT_EQ(back.participants.size(), 1U);
  EXPECT_EQ(back.participants[0].session, s1);
  voice_->leave(owner_, voice_channel_);
  auto fresh = voice_->join(owner_, voice_channel_, false, false);
  EXPECT_NE(session_of(fresh), s1) << "no session named: a new stay";
}

// The channel's own region decides where it is placed, before a joiner's hint and the API
// node's region.
TEST_F(VoicePlacement, ChannelRegionThenHintThenOwnRegion) {
  voice::VoiceOptions o;
  o.region = "eu";
  o.nearby_regions = {{"ap", {"us", "eu"}}};
  voice::VoiceService v(*chat_, *coord_, *placement_, *modes_, signer_, o);
  EXPECT_EQ(v.placement_regions(), "eu");
  EXPECT_EQ(v.placement_regions("us"), "us");
  EXPECT_EQ(v.placement_regions("ap"), "ap,us,eu");
  voice::VoiceOptions none;
  voice::VoiceService n(*chat_, *coord_, *placement_, *modes_, signer_, none);
  EXPECT_FALSE(n.placement_regions());
}
