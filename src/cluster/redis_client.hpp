// The Redis client every cluster backend shares (SFU registry and placement, the Redis
// EventBus and Coordinator, rate limits, event streams): one hiredis asynchronous connection
// driven by Asio on a strand of the caller's executor, with no thread of its own.
//
// - command() sends one command (arguments binary safe) and completes with its reply. Many may
//   be in flight on the one connection (pipelined, answered in order). It never blocks: while
//   Redis is unreachable a command fails at once with RedisError "unavailable" (ARCHITECTURE:
//   Redis down, new placements and cross-node events fail with a clear error), past
//   `command_timeout` with "timeout", and past `max_pending` commands in flight with
//   "overloaded".
// - The connection comes back by itself: after a loss (or a failed connect) it reconnects with
//   exponential backoff (min_backoff .. max_backoff), re-sends AUTH/SELECT, and re-subscribes
//   the channels of subscribe().
// - subscribe() puts the connection into pub/sub mode (Redis allows only SUBSCRIBE-family
//   commands on it then): use one client for commands and another for subscriptions.
// Every callback and handler runs on the client's strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hype::cluster {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // AUTH after every connect when set (never logged)
  int db = 0;            // SELECT after every connect when not 0
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  std::size_t max_pending = 10000;
};

// redis://[:password@]host[:port][/db] (or [user:password@]: the user is ignored); nullopt
// when malformed.
std::optional<RedisOptions> parse_redis_url(const std::string& url);

// One reply, converted from hiredis's tree (which is freed after the callback).
struct RedisReply {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status and error replies
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
};

// A command that got no reply: unavailable (not connected), timeout, overloaded, closed.
class RedisError : public std::runtime_error {
 public:
  RedisError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

class RedisClient {
 public:
  // Handler of a subscribed channel's messages: (channel, payload).
  using MessageHandler = std::function<void(const std::string&, const std::string&)>;

  RedisClient(const boost::asio::any_io_executor& ex, RedisOptions options);
  ~RedisClient();  // stop()s
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void start();  // connects (and keeps reconnecting); returns at once
  void stop();   // closes; commands in flight fail with "closed"

  // Sends `args` (e.g. {"SET", key, value}); an error reply is returned, not thrown.
  boost::asio::awaitable<RedisReply> command(std::vector<std::string> args);
  // Subscribes to `channel` now and after every reconnect.
  void subscribe(const std::string& channel, MessageHandler handler);

  bool connected() const;
  // The client's strand: where its handlers run. Blocking wrappers co_spawn onto it.
  boost::asio::any_io_executor executor() const;
  std::uint64_t connects() const;  // successful connects so far (reconnects included)

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hype::cluster
