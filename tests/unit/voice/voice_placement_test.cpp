// VoiceService places channels through the Placement seam: a join places the channel on the
// announced SFU node (the voice token names it), the last leave releases it, and without any
// SFU node voice stays peer to peer (no node in the answer or the token).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <random>
#include <string>

#include "auth/tokens.hpp"
#include "chat/chat_service.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "cluster/mode_coordinator.hpp"
#include "cluster/placement.hpp"
#include "store/store.hpp"
#include "voice/voice_service.hpp"
#include "wire/events.hpp"

namespace json = boost::json;
using namespace hype;

namespace {

class VoicePlacement : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hype-placement-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    store_ = store::open_store("sqlite://" + (dir_ / "t.db").string(), 2);
    store_->migrate();
    bus_ = cluster::make_local_event_bus();
    coord_ = cluster::make_local_coordinator();
    placement_ = cluster::make_local_placement();
    modes_ = cluster::make_local_mode_coordinator({"auto", 8, 60000});
    chat_ =
        std::make_unique<chat::ChatService>(*store_, ids_, *bus_, *coord_, wire::encode_event_body);
    voice_ = std::make_unique<voice::VoiceService>(*chat_, *coord_, *placement_, *modes_, signer_,
                                                   voice::VoiceOptions{});
    owner_ = ids_.next();
    store_->create_user({owner_, "owner", "$argon2id$v=19$not-used", 1});
    guild_ = chat_->create_guild(owner_, "guild").id;
    for (auto& c : store_->list_channels(guild_))
      if (c.kind == store::ChannelKind::voice) channel_ = c.id;
  }
  void TearDown() override {
    voice_.reset();
    chat_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string token_node(const voice::JoinAnswer& ans) {
    auto check = signer_.verify(ans.voice_token, "voice", 1);
    EXPECT_TRUE(check.claims.has_value());
    return check.claims ? check.claims->node : "?";
  }

  std::filesystem::path dir_;
  SnowflakeGenerator ids_{1};
  auth::TokenSigner signer_{"0123456789abcdef0123456789abcdef"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<cluster::EventBus> bus_;
  std::unique_ptr<cluster::Coordinator> coord_;
  std::unique_ptr<cluster::Placement> placement_;
  std::unique_ptr<cluster::ModeCoordinator> modes_;
  std::unique_ptr<chat::ChatService> chat_;
  std::unique_ptr<voice::VoiceService> voice_;
  Id owner_ = 0, guild_ = 0, channel_ = 0;
};

}  // namespace

TEST_F(VoicePlacement, WithoutAnSfuNodeVoiceStaysPeerToPeer) {
  auto ans = voice_->join(owner_, channel_, false, false);
  EXPECT_TRUE(!ans.sfu);
  EXPECT_EQ(token_node(ans), "");
  EXPECT_TRUE(!voice_->sfu_node(owner_, channel_));
}

TEST_F(VoicePlacement, JoinPlacesAndLastLeaveReleases) {
  placement_->announce({"node-7", "ws://sfu7/voice", ""});
  EXPECT_EQ(voice_->sfu_node(owner_, channel_)->node.id, "node-7");
  EXPECT_FALSE(placement_->lookup(channel_))
      << "asking for the node of an empty channel places nothing";

  auto ans = voice_->join(owner_, channel_, false, false);
  EXPECT_EQ(ans.sfu->node.id, "node-7");
  EXPECT_EQ(ans.sfu->node.url, "ws://sfu7/voice");
  EXPECT_EQ(token_node(ans), "node-7");
  auto placed = placement_->lookup(channel_);
  ASSERT_TRUE(placed);
  EXPECT_EQ(voice_->sfu_node(owner_, channel_)->node.id, "node-7");

  // A rejoin keeps the placement (same epoch); the last leave releases it.
  voice_->join(owner_, channel_, true, false);
  EXPECT_EQ(placement_->lookup(channel_)->epoch, placed->epoch);
  voice_->leave(owner_, channel_);
  EXPECT_FALSE(placement_->lookup(channel_));
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
  auto ans = v.join(owner_, channel_, false, false);
  EXPECT_STREQ(voice::mode_name(ans.mode), "sfu") << "1 > p2p_max_users 0";
  EXPECT_STREQ(voice::mode_name(v.channel_mode(owner_, channel_).mode), "sfu");
  v.tick();  // 1 participant is not <= 0 - 2: stays
  EXPECT_EQ(events, std::vector<std::string>{"sfu"});
  bus_->unsubscribe(sub);
}
