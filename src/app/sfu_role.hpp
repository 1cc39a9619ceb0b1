// The sfu role: the media workers and /voice signaling (sfu::SfuService), wired to the voice
// token signer and to the voice states its sessions stand for, its metrics, and its entry in
// the Placement (announced once the HTTP port and so its /voice URL are known). Needs no
// database. The SFU's stream reports become STREAM_UPDATE through a voice::StreamReporter.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "app/node.hpp"
#include "net/http_message.hpp"
#include "sfu/sfu_service.hpp"
#include "voice/stream_reporter.hpp"

namespace hype::app {

class SfuRole {
 public:
  explicit SfuRole(Node& node);
  ~SfuRole();
  void start();  // binds the media ports (throws std::system_error)
  // The node can take channels now: `url` is its /voice endpoint.
  void announce(const std::string& url);
  // Make before break (SIGTERM in a cluster): takes no new channels, moves each of its channels
  // to another node and tells their users (VOICE_SERVER_UPDATE: clients connect to the new
  // node before leaving this one), then calls `done` on the event loop once its rooms are empty
  // or after `limit`. Without another node, the rooms stay until the limit.
  void drain(std::chrono::milliseconds limit, std::function<void()> done);
  // Called (on the event loop, once) when an operator asks this node to drain through the
  // cluster (`hype sfu drain`): the server starts the same drain as on SIGTERM.
  void on_drain_requested(std::function<void()> f) { drain_requested_ = std::move(f); }
  void stop();
  std::shared_ptr<net::WsListener> open(std::shared_ptr<net::WsConnection> c,
                                        const net::HttpRequest& r);

 private:
  cluster::SfuNode describe() const;  // this node and its load, for the registry
  boost::asio::awaitable<void> heartbeats();
  boost::asio::awaitable<void> drain_rooms(std::chrono::milliseconds limit,
                                           std::function<void()> done);
  boost::asio::awaitable<void> move_rooms();  // to other nodes, telling their users
  // The rooms on this node (channel -> users), read on the SFU's signaling strand.
  boost::asio::awaitable<sfu::SfuService::RoomMap> rooms_now();
  // The lease check after a heartbeat (Placement::async_claim): rooms whose channel moved to
  // another node while this one was cut off are released to it.
  boost::asio::awaitable<void> check_leases();
  std::uint64_t participants() const;

  Node& node_;
  std::string url_;
  // The heartbeat loop and its timer run on this strand (stop() cancels through it).
  boost::asio::strand<boost::asio::io_context::executor_type> heartbeat_strand_;
  std::unique_ptr<boost::asio::steady_timer> heartbeat_;    // one beat a second, from announce()
  std::unique_ptr<boost::asio::steady_timer> drain_timer_;  // drain(): polls the rooms
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::function<void()> drain_requested_;
  voice::StreamReporter streams_;  // before sfu_, whose stream reports it publishes
  sfu::SfuService sfu_;
  int sub_ = 0;
  metrics::Gauge* health_ = nullptr;  // sfu_node_health
  // sfu_leases_lost_total: rooms released because their channel moved to another node.
  metrics::Counter* lease_lost_ = nullptr;
};

}  // namespace hype::app
