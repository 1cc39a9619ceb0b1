// A gtest fixture for RedisClient tests: a throwaway redis-server (skipped with a message when
// none is installed) and an io_context running on a thread of its own. Derived fixtures make
// their clients on `io` and destroy them in their TearDown before calling this one's (a
// client's stop() is posted to `io`).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "cluster/redis_client.hpp"
#include "unit/cluster/redis_server.hpp"

namespace hype::test {

class RedisFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::installed()) GTEST_SKIP() << "redis-server is not installed";
    ASSERT_TRUE(server.start());
    thread = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    guard.reset();
    if (thread.joinable()) thread.join();
  }

  // Polls `done` until it holds or ~5 s passed.
  static bool eventually(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // A test client of this server: quick reconnects, 2 s command timeout.
  cluster::RedisOptions client_options() const {
    cluster::RedisOptions o;
    o.port = server.port();
    o.min_backoff = std::chrono::milliseconds(20);
    o.max_backoff = std::chrono::milliseconds(100);
    o.command_timeout = std::chrono::seconds(2);
    return o;
  }
  // A started client on `io` (check connected() before use: see eventually()).
  std::unique_ptr<cluster::RedisClient> started_client() {
    auto c = std::make_unique<cluster::RedisClient>(io.get_executor(), client_options());
    c->start();
    return c;
  }

  RedisServer server;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread;
};

}  // namespace hype::test
