// Who gets a file descriptor when they run short. The server keeps a cap on open connections
// below the process's descriptor limit; at the cap a new connection is admitted only if an
// older one that is worth less can be closed for it ("shed"):
//   1. idle HTTP connections (keep-alive, or accepted and silent): nothing is in progress and
//      a client that still wants them reconnects at the cost of one handshake;
//   2. WebSockets that have not identified yet: they are the cheapest way to hold
//      descriptors without credentials and they have a deadline anyway.
// Oldest first within each class. Requests in progress and identified WebSockets (signed-in
// users) are never shed, so /healthz and signed-in users keep being served while someone
// fills the server with idle sockets. It also counts not-yet-identified WebSockets per client
// address, so one address cannot take every unauthenticated place. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hype::net {

class ConnectionLimits {
 public:
  enum class Kind { kIdleHttp, kUnauthenticatedWs };
  using Ticket = std::uint64_t;  // 0: none
  // Closes the connection; called from any thread, must not block (post to its strand).
  using Shed = std::function<void()>;

  explicit ConnectionLimits(int unauthenticated_ws_per_ip) : per_ip_(unauthenticated_ws_per_ip) {}

  Ticket add_sheddable(Kind kind, Shed shed);
  // False when the ticket was shed meanwhile (or is 0): the connection is going away.
  bool remove_sheddable(Ticket t);
  // Closes the oldest connection of the cheapest class; false when there is none.
  bool shed_one();
  std::size_t sheddable(Kind kind) const;

  // Reserves a not-yet-identified WebSocket place for `ip`; false at the per-address cap
  // (0: no cap).
  bool try_add_unauthenticated(const std::string& ip);
  void remove_unauthenticated(const std::string& ip);
  int unauthenticated(const std::string& ip) const;

 private:
  mutable std::mutex mu_;
  int per_ip_;
  Ticket next_ = 0;
  std::map<Ticket, Shed> idle_http_, unauth_ws_;  // ordered by ticket: oldest first
  std::unordered_map<std::string, int> unauth_by_ip_;
};

}  // namespace hype::net
