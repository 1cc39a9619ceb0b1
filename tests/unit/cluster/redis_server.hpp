// A throwaway redis-server for tests (TESTING.md "Redis 7"): its own port and directory, no
// persistence; stop() kills it (as a crash would), start() again reuses the port.
#pragma once

#include <sys/types.h>

#include <string>

namespace hype::test {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  static bool installed();
  bool start();  // false when it did not come up within 5 s
  void stop();   // SIGKILL: the clients see the connection drop
  // SIGSTOP / SIGCONT: unreachable (commands time out) with its data and clock kept.
  void freeze();
  void thaw();
  int port() const { return port_; }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
  std::string dir_;
};

}  // namespace hype::test
