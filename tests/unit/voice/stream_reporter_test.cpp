// STREAM_UPDATE from the SFU's stream reports, as an SFU-only node publishes it: the in-process
// Coordinator and EventBus and nothing else (no database, no ChatService).
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chat/permissions.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "unit/voice/forwarding_coordinator.hpp"
#include "voice/stream_reporter.hpp"
#include "wire/events.hpp"

using namespace hype;
namespace asio = boost::asio;

namespace {

cluster::VoiceState in(Id user, Id channel, Id guild) {
  cluster::VoiceState s;
  s.user_id = user;
  s.channel_id = channel;
  s.guild_id = guild;
  return s;
}

// A Coordinator whose voice-state reads can be held (as a slow Redis reply would be) until
// release(): everything else is the in-process one.
class HeldCoordinator final : public hype::testing::ForwardingCoordinator {
 public:
  HeldCoordinator(asio::io_context& io, cluster::Coordinator& inner)
      : ForwardingCoordinator(inner), timer_(io) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }
  void hold_next_read() { hold_ = true; }
  void release() { timer_.cancel(); }

  cluster::Task<std::optional<cluster::VoiceState>> async_voice_state(Id user_id) override {
    if (hold_) {
      hold_ = false;
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return co_await inner_.async_voice_state(user_id);
  }

 private:
  asio::steady_timer timer_;
  bool hold_ = false;
};

class StreamReports : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_->subscribe([this](const cluster::Event& e) { events_.push_back(e); });
    coord_.voice_join(in(7, 6, 5), 0);
  }
  std::vector<std::string> payloads() const {
    std::vector<std::string> out;
    for (auto& e : events_) out.push_back(e.data);
    return out;
  }

  asio::io_context io_;
  std::unique_ptr<cluster::Coordinator> local_ = cluster::make_local_coordinator();
  HeldCoordinator coord_{io_, *local_};
  std::unique_ptr<cluster::EventBus> bus_ = cluster::make_local_event_bus();
  std::vector<cluster::Event> events_;
};

TEST_F(StreamReports, PublishedToWhoSeesTheChannelWithTheGuildOfTheVoiceState) {
  voice::StreamReporter r(io_.get_executor(), coord_, *bus_, wire::encode_event_body);
  r.report(6, 7, true, {8, 9});
  EXPECT_TRUE(events_.empty()) << "published on the caller's thread";
  io_.run();
  ASSERT_EQ(events_.size(), 1u);
  const auto& e = events_[0];
  EXPECT_EQ(e.type, cluster::EventType::stream_update);
  EXPECT_EQ(e.guild_id, 5);
  EXPECT_EQ(e.required_permissions, chat::perm::kViewChannel);
  EXPECT_TRUE(e.user_ids.empty());
  EXPECT_EQ(e.channel_id, 6);
  EXPECT_EQ(e.subject_user_id, 7);
  EXPECT_EQ(e.data, R"({"guild_id":"5","channel_id":"6","user_id":"7","live":true,)"
                    R"("viewer_ids":["8","9"],"viewer_count":2})");
}

TEST_F(StreamReports, NothingForAUserNoLongerInThatChannel) {
  voice::StreamReporter r(io_.get_executor(), coord_, *bus_, wire::encode_event_body);
  r.report(16, 7, false, {});  // in another channel
  r.report(6, 70, false, {});  // in no channel
  io_.run();
  EXPECT_TRUE(events_.empty());
  io_.restart();
  bool published = true;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        published = co_await voice::publish_stream_update(coord_, *bus_, wire::encode_event_body, 6,
                                                          70, true, {});
      },
      asio::detached);
  io_.run();
  EXPECT_FALSE(published);
  EXPECT_TRUE(events_.empty());
}

// Every STREAM_UPDATE carries the whole stream, so clients keep the last: a later report must
// never be published before an earlier one, even when the Coordinator answers the earlier
// one's read last.
TEST_F(StreamReports, PublishedInReportOrderWhenTheCoordinatorIsSlow) {
  coord_.voice_join(in(17, 6, 5), 0);
  voice::StreamReporter r(io_.get_executor(), coord_, *bus_, wire::encode_event_body);
  coord_.hold_next_read();
  r.report(6, 7, true, {17});
  io_.poll();  // the first report waits on its read
  r.report(6, 17, true, {});
  r.report(6, 7, true, {});
  io_.poll();
  EXPECT_TRUE(events_.empty()) << "a later report went ahead of a held one";
  coord_.release();
  io_.run();
  auto got = payloads();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_NE(got[0].find(R"("user_id":"7","live":true,"viewer_ids":["17"])"), std::string::npos);
  EXPECT_NE(got[1].find(R"("user_id":"17")"), std::string::npos);
  EXPECT_NE(got[2].find(R"("user_id":"7","live":true,"viewer_ids":[])"), std::string::npos);
}

// Reports of one stream still queued are superseded by a later one (the queue is bounded by the
// streams, not by how often their watchers change).
TEST_F(StreamReports, AQueuedReportIsReplacedByTheStreamsNextOne) {
  voice::StreamReporter r(io_.get_executor(), coord_, *bus_, wire::encode_event_body);
  coord_.hold_next_read();
  r.report(6, 7, true, {});
  io_.poll();
  for (Id v = 100; v < 200; ++v) r.report(6, 7, true, {v});
  r.report(6, 7, false, {});
  coord_.release();
  io_.run();
  auto got = payloads();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].find(R"("live":true,"viewer_ids":[])"), std::string::npos);
  EXPECT_NE(got[1].find(R"("live":false,"viewer_ids":[])"), std::string::npos);
}

// A report from the SFU's signaling thread while another thread runs the event loop (the app's
// case): every one arrives, in order.
TEST_F(StreamReports, ReportsFromAnotherThreadArriveInOrder) {
  voice::StreamReporter r(io_.get_executor(), coord_, *bus_, wire::encode_event_body);
  auto guard = asio::make_work_guard(io_);
  std::thread loop([&] { io_.run(); });
  for (Id v = 1; v <= 50; ++v) {
    r.report(6, 7, true, {v});
    r.report(6, 70 + v, true, {});  // not in voice: nothing
  }
  guard.reset();
  loop.join();
  io_.restart();
  io_.run();
  auto got = payloads();
  ASSERT_FALSE(got.empty());
  EXPECT_NE(got.back().find(R"("viewer_ids":["50"])"), std::string::npos) << got.back();
  for (std::size_t i = 1; i < got.size(); ++i) {
    auto viewer = [](const std::string& s) {
      const std::string key = R"("viewer_ids":[")";
      auto p = s.find(key);
      EXPECT_NE(p, std::string::npos) << s;
      if (p == std::string::npos) return -1;
      p += key.size();
      return std::stoi(s.substr(p, s.find('"', p) - p));
    };
    EXPECT_LT(viewer(got[i - 1]), viewer(got[i]));
  }
}

}  // namespace
