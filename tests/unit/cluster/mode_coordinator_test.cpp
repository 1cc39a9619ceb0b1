// The mode coordinator keeps ModePolicy's behaviour (tests/unit/voice/mode_policy_test.cpp)
// and adds what announcing needs: the guild of each change, from on_count and from tick.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "cluster/mode_coordinator.hpp"

using namespace hype;
using namespace hype::cluster;
namespace asio = boost::asio;

TEST(LocalModeCoordinator, SwitchesAndReturnsWithTheGuild) {
  auto m = make_local_mode_coordinator({"auto", 4, 1000});
  for (int n = 1; n <= 4; ++n) EXPECT_FALSE(m->on_count(10, 99, n, 0));
  auto up = m->on_count(10, 99, 5, 0);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->channel_id, 10);
  EXPECT_EQ(up->guild_id, 99);
  EXPECT_EQ(up->mode, VoiceMode::sfu);
  EXPECT_EQ(m->mode(10), VoiceMode::sfu);
  EXPECT_FALSE(m->on_count(10, 99, 2, 100)) << "low since 100, delay not over";
  EXPECT_TRUE(m->tick(1099).empty());
  auto back = m->tick(1100);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].channel_id, 10);
  EXPECT_EQ(back[0].guild_id, 99) << "the ticker announces in the right guild";
  EXPECT_EQ(back[0].mode, VoiceMode::p2p);
  EXPECT_TRUE(m->tick(5000).empty()) << "announced once";
  EXPECT_EQ(m->mode(10), VoiceMode::p2p);
}

TEST(LocalModeCoordinator, EmptyChannelIsForgottenAndFixedModesNeverChange) {
  auto m = make_local_mode_coordinator({"auto", 2, 1000});
  m->on_count(1, 5, 3, 0);
  auto gone = m->on_count(1, 5, 0, 10);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->mode, VoiceMode::p2p);
  EXPECT_TRUE(m->tick(100000).empty());

  auto sfu = make_local_mode_coordinator({"sfu", 2, 1000});
  EXPECT_EQ(sfu->mode(1), VoiceMode::sfu);
  EXPECT_FALSE(sfu->on_count(1, 5, 50, 0));
  EXPECT_TRUE(sfu->tick(100000).empty());
}

TEST(LocalModeCoordinator, AwaitedOnTheEventLoop) {
  auto m = make_local_mode_coordinator({"auto", 3, 10});
  asio::io_context io;
  int changes = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        if (co_await m->async_on_count(3, 4, 4, 0)) ++changes;
        EXPECT_EQ(co_await m->async_mode(3), VoiceMode::sfu);
        co_await m->async_on_count(3, 4, 1, 0);
        auto due = co_await m->async_tick(10);
        changes += static_cast<int>(due.size());
      },
      asio::detached);
  io.run();
  EXPECT_EQ(changes, 2);
}
