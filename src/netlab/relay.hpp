// hype-netlab's relay: a single-threaded epoll UDP relay between clients and one upstream
// (the SFU). Each client address gets its own upstream socket, so the server sees one 5-tuple
// per client and ICE works per client; each client's path has its own up and down Link
// (seeded from the relay's seed), following the same schedules. Release times wait in a
// binary heap over a fixed pool of packet slots: nothing is allocated per packet.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/socket_address.hpp"
#include "netlab/schedule.hpp"

namespace hype::netlab {

struct RelayOptions {
  SocketAddress listen;    // port 0: ephemeral (see Relay::port)
  SocketAddress upstream;  // where client packets go
  Impairment up;           // client -> upstream
  Impairment down;         // upstream -> client
  DirectionSchedules schedule;
  std::uint64_t seed = 1;
  std::size_t packet_slots = 16384;  // packets held at once; past it, drops (pool_full)
  std::size_t max_flows = 4096;      // client addresses; idle ones expire after flow_idle_s
  int flow_idle_s = 120;
};

struct DirectionStats {
  std::uint64_t in = 0, out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t lost = 0;        // random or Gilbert-Elliott loss
  std::uint64_t queue_full = 0;  // bottleneck tail drop
  std::uint64_t pool_full = 0;   // relay out of packet slots (the relay is the bottleneck)
  std::uint64_t send_errors = 0;
  std::uint64_t dropped() const { return lost + queue_full + pool_full + send_errors; }
};

class Relay {
 public:
  explicit Relay(RelayOptions options);  // binds; throws std::system_error
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  std::uint16_t port() const;
  // Runs until SIGINT or SIGTERM (blocked and read through a signalfd); every stats_every_s
  // seconds (0: never) prints stats_json() as one line on stdout.
  void run(double stats_every_s);
  // {"event":..., "elapsed_s", "flows", "up":{...}, "down":{...}, "cpu_s":{...}, ...}
  std::string stats_json(const char* event) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hype::netlab
