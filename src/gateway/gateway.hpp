// The real-time gateway (/gateway): WebSocket sessions that identify with an access token,
// receive READY and then every event they may see, keep alive with heartbeats, and resume
// after a dropped connection by replaying what they missed. All session state lives on one
// strand; WebSocket callbacks and EventBus events are posted onto it. docs/protocol.md is the
// contract.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/object.hpp>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "net/blocking_pool.hpp"
#include "net/http_message.hpp"
#include "telemetry/quality_metrics.hpp"
#include "telemetry/trace.hpp"
#include "voice/voice_service.hpp"

namespace hype::gateway {

struct GatewayDeps {
  auth::AuthService& auth;
  chat::ChatService& chat;
  voice::VoiceService& voice;
  cluster::Coordinator& coord;
  cluster::EventBus& bus;
  net::BlockingPool& pool;
  metrics::Registry& metrics;
  const Config& config;
  telemetry::QualityMetrics* quality = nullptr;  // P2P calls' quality reports; null: ignored
  telemetry::Tracer* tracer = nullptr;           // gateway.identify spans (traceparent in identify)
};

// Close codes (docs/protocol.md).
enum CloseCode : int {
  kUnknownError = 4000,
  kUnknownOp = 4001,
  kDecodeError = 4002,
  kNotAuthenticated = 4003,
  kAuthFailed = 4004,
  kAlreadyAuthenticated = 4005,
  kInvalidResume = 4007,
  kRateLimited = 4008,
  kHeartbeatTimeout = 4009,
  kSlowConsumer = 4010,
  kSessionLimit = 4011,
};

class Gateway : public std::enable_shared_from_this<Gateway> {
 public:
  Gateway(boost::asio::any_io_executor ex, GatewayDeps deps);
  ~Gateway();
  void start();  // subscribes to the bus, starts the sweeper
  void stop();
  // For HttpServer::WsOpen: a listener for a new connection on /gateway.
  std::shared_ptr<net::WsListener> open(std::shared_ptr<net::WsConnection> conn,
                                        const net::HttpRequest& req);

  struct Session;
  struct Conn;
  struct Payload;

 private:
  friend struct Conn;
  void on_message(const std::shared_ptr<Conn>& c, std::string text);
  void on_closed(const std::shared_ptr<Conn>& c);
  void handle_identify(const std::shared_ptr<Conn>& c, const boost::json::object& d);
  void handle_resume(const std::shared_ptr<Conn>& c, const boost::json::object& d);
  void handle_op(const std::shared_ptr<Conn>& c, const std::string& op,
                 const boost::json::value* d);
  void finish_identify(const std::shared_ptr<Conn>& c, Id user, boost::json::object ready,
                       const std::vector<std::pair<Id, std::uint64_t>>& perms, bool first_session,
                       const std::string& snapshot_cursor);
  void dispatch_event(const cluster::Event& e);
  // Whether `s` receives `e` under its permission cache (the live filter, for replays too).
  bool receives(const Session& s, const cluster::Event& e) const;
  // Resume of a session this node does not hold, from the client's stream cursor.
  void resume_elsewhere(const std::shared_ptr<Conn>& c, Id user, std::string sid, std::uint64_t seq,
                        std::string cursor);
  void start_resumed_session(const std::shared_ptr<Conn>& c, Id user, std::string sid,
                             std::uint64_t seq, std::string cursor,
                             const std::vector<std::pair<Id, std::uint64_t>>& perms,
                             bool first_session);
  // Replays the stream (after, position now] to `s` (catching_up), then what was held; then
  // RESUMED when `resumed`. A history that no longer reaches `after` ends the session (4007).
  void catch_up(const std::shared_ptr<Session>& s, std::string after, bool resumed);
  // Delivers a replayed or recorded event to `s` if it may see it (true then).
  bool replay_one(Session& s, const cluster::Event& e);
  void finish_catch_up(const std::shared_ptr<Session>& s, const std::string& after,
                       const std::string& until, const std::vector<cluster::Event>& events,
                       bool resumed);
  void deliver(Session& s, const std::string& type, const std::string& data);
  void deliver(Session& s, const std::shared_ptr<const Payload>& p);
  void attach_guild(Session& s, Id guild, std::uint64_t perms);
  void detach_guild(Session& s, Id guild);
  void refresh_permissions(Id guild, Id user);
  void destroy_session(const std::string& id);
  // Makes room for one more session of `user` under gateway.max_sessions_per_user by ending
  // their oldest resumable (detached) sessions; false when every one is attached.
  bool make_session_room(Id user);
  void sweep();
  void send_error(Conn& c, const std::string& code, const std::string& message);
  void publish_presence(Id user, const std::string& status);

  GatewayDeps d_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer sweeper_;
  int bus_sub_ = 0;
  bool stopped_ = false;
  std::uint64_t next_conn_ = 0;

  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
  std::unordered_map<Id, std::unordered_set<Session*>> by_user_;
  std::unordered_map<Id, std::unordered_set<Session*>> by_guild_;
  std::unordered_set<std::shared_ptr<Conn>> conns_;
  // Identifies loading READY without a stream position: they record every event (READY race).
  std::unordered_set<std::shared_ptr<Conn>> recording_;

  metrics::Gauge& connections_;
  metrics::Gauge& sessions_gauge_;
  metrics::Counter& dispatched_;
  metrics::Counter& slow_closed_;
};

}  // namespace hype::gateway
