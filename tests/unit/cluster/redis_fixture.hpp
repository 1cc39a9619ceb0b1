// A gtest fixture for RedisClient tests: a throwaway redis-server (skipped with a message when
// none is installed) and an io_context running on a thread of its own. Derived fixtures make
// their clients on `io` and destroy them in their TearDown before calling this one's (a
// client's stop() is posted to `io`).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

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

  RedisServer server;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread;
};

}  // namespace hype::test
