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
