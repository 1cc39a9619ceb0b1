// cluster::RedisClient against a real redis-server: replies of every type, pipelining, error
// replies, a server killed and restarted (commands fail fast while it is down, the client
// reconnects and re-subscribes by itself), timeouts, and stop() with commands in flight.
#include "cluster/redis_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "unit/cluster/redis_fixture.hpp"

namespace hype::cluster {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class Redis : public test::RedisFixture {
 protected:
  void TearDown() override {
    clients.clear();  // their stop() is posted to io
    RedisFixture::TearDown();
  }

  RedisClient& client(RedisOptions o = {}) {
    o.port = server.port();
    if (o.min_backoff == RedisOptions{}.min_backoff) o.min_backoff = 20ms;
    if (o.max_backoff == RedisOptions{}.max_backoff) o.max_backoff = 200ms;
    clients.push_back(std::make_unique<RedisClient>(io.get_executor(), o));
    clients.back()->start();
    return *clients.back();
  }
  // Runs one command to completion from the test thread; the error code when it threw.
  struct Outcome {
    std::optional<RedisReply> reply;
    std::string error;
  };
  Outcome run(RedisClient& c, const std::vector<std::string>& args) {
    auto f = asio::co_spawn(
        io,
        [&c, args]() -> asio::awaitable<Outcome> {
          // (GCC 12 miscompiles a co_await inside a braced initializer.)
          Outcome out;
          try {
            auto reply = co_await c.command(args);
            out.reply = std::move(reply);
          } catch (const RedisError& e) {
            out.error = e.code();
          }
          co_return out;
        },
        asio::use_future);
    return f.get();
  }
  static bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  std::vector<std::unique_ptr<RedisClient>> clients;
};

TEST_F(Redis, RepliesOfEveryTypeBinarySafe) {
  auto& c = client();
  ASSERT_TRUE(wait_for([&] { return c.connected(); }));
  std::string binary("a\0b\r\nc", 6);
  EXPECT_EQ(run(c, {"SET", "hype:test:k", binary}).reply->type, RedisReply::Type::status);
  auto got = run(c, {"GET", "hype:test:k"}).reply;
  EXPECT_EQ(got->type, RedisReply::Type::string);
  EXPECT_EQ(got->str, binary);
  EXPECT_TRUE(run(c, {"GET", "hype:test:missing"}).reply->is_nil());
  EXPECT_EQ(run(c, {"INCRBY", "hype:test:n", "41"}).reply->integer, 41);
  run(c, {"RPUSH", "hype:test:l", "x", "y"});
  auto list = run(c, {"LRANGE", "hype:test:l", "0", "-1"}).reply;
  ASSERT_EQ(list->type, RedisReply::Type::array);
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_EQ(list->elements[1].str, "y");
  // An error reply is a reply, not an exception.
  auto wrong = run(c, {"INCR", "hype:test:l"}).reply;
  ASSERT_TRUE(wrong->is_error());
  EXPECT_NE(wrong->str.find("WRONGTYPE"), std::string::npos);
  // A Lua script, as compare-and-set placement will use.
  auto eval = run(c, {"EVAL", "return {KEYS[1], ARGV[1]}", "1", "hype:{g}:a", "v"}).reply;
  ASSERT_EQ(eval->elements.size(), 2u);
  EXPECT_EQ(eval->elements[0].str, "hype:{g}:a");
}

TEST_F(Redis, ManyCommandsInFlightOnOneConnection) {
  auto& c = client();
  ASSERT_TRUE(wait_for([&] { return c.connected(); }));
  // 200 INCRs started together (pipelined on the one connection): each gets its own reply.
  std::vector<std::future<long long>> futures;
  futures.reserve(200);
  for (int i = 0; i < 200; ++i)
    futures.push_back(asio::co_spawn(
        io,
        [&c]() -> asio::awaitable<long long> {
          std::vector<std::string> args{"INCR",
                                        "hype:test:seq"};  // (GCC 12: no braces in co_await)
          co_return (co_await c.command(std::move(args))).integer;
        },
        asio::use_future));
  std::vector<long long> values;
  values.reserve(futures.size());
  for (auto& f : futures) values.push_back(f.get());
  std::sort(values.begin(), values.end());
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(values[i], static_cast<long long>(i + 1));
  // One coroutine's sequential commands keep their order.
  auto g = asio::co_spawn(
      io,
      [&c]() -> asio::awaitable<std::vector<long long>> {
        std::vector<long long> out;
        for (int i = 0; i < 20; ++i) {
          std::vector<std::string> args{"INCR", "hype:o"};
          out.push_back((co_await c.command(std::move(args))).integer);
        }
        co_return out;
      },
      asio::use_future);
  auto seq = g.get();
  for (std::size_t i = 0; i < seq.size(); ++i) EXPECT_EQ(seq[i], static_cast<long long>(i + 1));
}

TEST_F(Redis, FailsFastWhileDownAndReconnectsAndResubscribesByItself) {
  auto& c = client();
  auto& sub = client();
  std::mutex mu;
  std::vector<std::string> got;
  sub.subscribe("hype:test:chan", [&](const std::string& ch, const std::string& msg) {
    std::lock_guard lock(mu);
    got.push_back(ch + "=" + msg);
  });
  ASSERT_TRUE(wait_for([&] { return c.connected() && sub.connected(); }));
  // The subscription is active once a publish reaches one subscriber.
  ASSERT_TRUE(wait_for([&] {
    return run(c, {"PUBLISH", "hype:test:chan", "one"}).reply->integer == 1;
  }));
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard lock(mu);
    return !got.empty();
  }));

  server.stop();  // as kill -9
  ASSERT_TRUE(wait_for([&] { return !c.connected(); }));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run(c, {"PING"}).error, "unavailable");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);  // fails at once, no waiting

  ASSERT_TRUE(server.start());
  ASSERT_TRUE(wait_for([&] { return c.connected() && sub.connected(); }));
  EXPECT_GE(c.connects(), 2u);
  EXPECT_EQ(run(c, {"PING"}).reply->str, "PONG");
  // The subscriber re-subscribed on its own.
  ASSERT_TRUE(wait_for([&] {
    return run(c, {"PUBLISH", "hype:test:chan", "two"}).reply->integer == 1;
  }));
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard lock(mu);
    return got.back() == "hype:test:chan=two";
  }));
}

TEST_F(Redis, SlowCommandTimesOutAndTheConnectionStaysUsable) {
  RedisOptions o;
  o.command_timeout = 200ms;
  auto& c = client(o);
  ASSERT_TRUE(wait_for([&] { return c.connected(); }));
  EXPECT_EQ(run(c, {"BLPOP", "hype:test:empty", "0.6"}).error, "timeout");
  // The late reply is dropped; the next command gets its own reply, not the stale one.
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(run(c, {"ECHO", "after"}).reply->str, "after");
}

// A command issued right after start() waits for the first connection (a node's first
// heartbeat or voice join used to fail "unavailable" at startup).
TEST_F(Redis, ACommandRightAfterStartWaitsForTheFirstConnection) {
  for (int i = 0; i < 5; ++i) {
    auto& c = client();
    auto out = run(c, {"PING"});
    EXPECT_EQ(out.error, "");
    ASSERT_TRUE(out.reply);
    EXPECT_EQ(out.reply->str, "PONG");
  }
}

TEST_F(Redis, NoServerMeansUnavailableNotAHang) {
  server.stop();
  auto& c = client();
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(run(c, {"PING"}).error, "unavailable");
}

TEST_F(Redis, StopEndsCommandsInFlight) {
  RedisOptions o;
  o.command_timeout = 5s;
  auto& c = client(o);
  ASSERT_TRUE(wait_for([&] { return c.connected(); }));
  auto f = asio::co_spawn(
      io,
      [&c]() -> asio::awaitable<std::string> {
        try {
          std::vector<std::string> args{"BLPOP", "hype:test:never", "3"};
          co_await c.command(std::move(args));
          co_return "reply";
        } catch (const RedisError& e) {
          co_return e.code();
        }
      },
      asio::use_future);
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  c.stop();
  EXPECT_EQ(f.get(), "unavailable");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(run(c, {"PING"}).error, "closed");
}

}  // namespace
}  // namespace hype::cluster
