// The cluster seam's awaitable paths: what the gateway and the API co_await on the event loop,
// and the blocking bridge (cluster::wait) the blocking pool uses, including for operations
// that really suspend and complete on another thread (as a Redis reply would).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cluster/coordinator.hpp"
#include "cluster/wait.hpp"

using namespace hype;
using namespace hype::cluster;
namespace asio = boost::asio;

namespace {

VoiceState vs(Id user, Id channel, Id guild = 1) {
  VoiceState s;
  s.user_id = user;
  s.channel_id = channel;
  s.guild_id = guild;
  return s;
}

// Runs `f` (returning awaitable<void>) to completion on a fresh event loop, as the gateway's
// strand or the API's request coroutine would; fails the test on an exception.
template <typename F>
void on_event_loop(F f) {
  asio::io_context io;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(f), [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
}

}  // namespace

TEST(AsyncCoordinator, RateBucketsAwaitedOnTheEventLoop) {
  auto c = make_local_coordinator();
  RateBudget two{2, 10};
  on_event_loop([&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await c->async_take("k", two, 1)).allowed);
    EXPECT_TRUE((co_await c->async_peek("k", two, 1)).allowed);
    EXPECT_TRUE((co_await c->async_take("k", two, 1)).allowed);
    auto no = co_await c->async_take("k", two, 1);
    EXPECT_FALSE(no.allowed);
    EXPECT_GT(no.retry_after_s, 0);
    EXPECT_FALSE((co_await c->async_peek("k", two, 1)).allowed);
    co_await c->async_forget("k");
    EXPECT_TRUE((co_await c->async_take("k", two, 1)).allowed);
  });
  // The blocking form sees the same bucket.
  EXPECT_TRUE(c->take("k", two).allowed);
  EXPECT_FALSE(c->take("k", two).allowed);
}

TEST(AsyncCoordinator, PresenceAndBatchOnline) {
  auto c = make_local_coordinator();
  on_event_loop([&]() -> asio::awaitable<void> {
    EXPECT_EQ(co_await c->async_presence_connect(5), 1);
    EXPECT_EQ(co_await c->async_presence_connect(5), 2);
    EXPECT_EQ(co_await c->async_presence_connect(7), 1);
    EXPECT_TRUE(co_await c->async_is_online(5));
    std::vector<Id> ask;  // (a braced list straight into co_await trips g++ 12)
    ask = {9, 7, 5, 8};
    auto online = co_await c->async_online(ask);
    std::vector<Id> expected;
    expected = {7, 5};
    EXPECT_EQ(online, expected);  // the given order, offline users left out
    EXPECT_EQ(co_await c->async_presence_disconnect(5), 1);
    EXPECT_EQ(co_await c->async_presence_disconnect(5), 0);
    EXPECT_EQ(co_await c->async_presence_disconnect(5), 0);  // never below zero
    EXPECT_FALSE(co_await c->async_is_online(5));
  });
  EXPECT_EQ(c->online({5, 7}), std::vector<Id>{7});
}

TEST(AsyncCoordinator, VoiceStatesAwaited) {
  auto c = make_local_coordinator();
  on_event_loop([&]() -> asio::awaitable<void> {
    auto first = co_await c->async_voice_join(vs(1, 10), 2);
    EXPECT_FALSE(first.full);
    EXPECT_EQ(first.count, 1);
    auto s = vs(1, 10);
    s.session = 42;
    auto again = co_await c->async_voice_join(s, 2);
    EXPECT_EQ(again.state.session, first.state.session) << "rejoin keeps the stay's session";
    co_await c->async_voice_join(vs(2, 10), 2);
    EXPECT_TRUE((co_await c->async_voice_join(vs(3, 10), 2)).full);
    auto moved = co_await c->async_voice_join(vs(2, 20), 0);
    if (!moved.previous) co_return ADD_FAILURE();
    EXPECT_EQ(moved.previous->channel_id, 10);
    auto sup = co_await c->async_voice_suppress(1, true);
    if (!sup) co_return ADD_FAILURE();
    EXPECT_TRUE(sup->suppress && sup->self_mute);
    auto upd = co_await c->async_voice_update(2, false, true);
    if (!upd) co_return ADD_FAILURE();
    EXPECT_TRUE(upd->self_deaf);
    EXPECT_EQ((co_await c->async_channel_voice_states(10)).size(), 1u);
    EXPECT_EQ((co_await c->async_guild_voice_states(1)).size(), 2u);
    EXPECT_EQ(co_await c->async_active_voice_channels(), 2);
    EXPECT_EQ(co_await c->async_active_voice_users(), 2);
    EXPECT_FALSE(co_await c->async_voice_leave(1, 20));  // not in that channel
    EXPECT_TRUE(co_await c->async_voice_leave(1, 0));
    EXPECT_FALSE(co_await c->async_voice_state(1));
    EXPECT_FALSE(co_await c->async_voice_suppress(1, true));  // not in voice
  });
}

TEST(AsyncCoordinator, SetStreamAwaited) {
  auto c = make_local_coordinator();
  on_event_loop([&]() -> asio::awaitable<void> {
    EXPECT_FALSE(co_await c->async_voice_set_stream(1, 10, true));  // not in voice
    co_await c->async_voice_join(vs(1, 10), 0);
    EXPECT_FALSE(co_await c->async_voice_set_stream(1, 20, true));  // not in that channel
    auto live = co_await c->async_voice_set_stream(1, 10, true);
    if (!live) co_return ADD_FAILURE();
    EXPECT_TRUE(live->self_stream);
    EXPECT_TRUE((co_await c->async_voice_join(vs(1, 10), 0)).state.self_stream);
    EXPECT_FALSE((co_await c->async_voice_join(vs(1, 20), 0)).state.self_stream);
  });
}

TEST(AsyncCoordinator, LocalBackendNeverSuspends) {
  // The event loop pays no thread hop or queueing for the in-process backend: a coroutine
  // awaiting it keeps running before anything else posted to the loop.
  auto c = make_local_coordinator();
  asio::io_context io;
  std::vector<int> order;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::post(io, [&] { order.push_back(2); });
        co_await c->async_voice_join(vs(1, 10), 0);
        co_await c->async_take("k", RateBudget{5, 1}, 1);
        std::vector<Id> one;
        one.push_back(1);
        co_await c->async_online(one);
        order.push_back(1);
      },
      asio::detached);
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(ClusterWait, BridgesOperationsThatSuspendOnAnotherThread) {
  // A shared backend's operation completes on its own I/O thread; wait() must get the result
  // back on the calling (pool) thread without that thread running anything else.
  asio::io_context backend;
  auto guard = asio::make_work_guard(backend);
  std::thread io([&] { backend.run(); });
  std::thread::id ran_on;
  auto on_backend = [&](int v) -> asio::awaitable<int> {
    ran_on = std::this_thread::get_id();
    asio::steady_timer t(backend, std::chrono::milliseconds(5));
    co_await t.async_wait(asio::use_awaitable);
    co_return v * 2;
  };
  // What a Redis operation looks like from the caller: the work runs on the backend's thread,
  // the caller's coroutine resumes on its own executor with the reply.
  auto remote = [&](int v) -> asio::awaitable<int> {
    co_return co_await asio::co_spawn(backend, on_backend(v), asio::use_awaitable);
  };
  EXPECT_EQ(wait(remote(21)), 42);
  EXPECT_EQ(ran_on, io.get_id());
  EXPECT_EQ(wait(remote(5)), 10) << "the per-thread context is reusable";
  guard.reset();
  io.join();
}

TEST(ClusterWait, RethrowsAndHandlesVoid) {
  auto fail = []() -> asio::awaitable<int> {
    throw std::runtime_error("coordination store unreachable");
    co_return 0;
  };
  EXPECT_THROW(wait(fail()), std::runtime_error);
  int touched = 0;
  auto v = [&]() -> asio::awaitable<void> {
    ++touched;
    co_return;
  };
  wait(v());
  EXPECT_EQ(touched, 1);
}

TEST(ClusterWait, ManyPoolThreadsAtOnce) {
  // Blocking forms from several threads (the blocking pool) on one coordinator.
  auto c = make_local_coordinator();
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (c->take("shared", RateBudget{1000, 1000}).allowed) ++allowed;
        c->presence_connect(static_cast<Id>(t + 1));
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1000) << "exactly the bucket's 1000 tokens, no lost updates";
  for (Id u = 1; u <= 4; ++u) EXPECT_EQ(c->presence_disconnect(u), 499);
}
