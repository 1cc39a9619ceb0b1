// Internal to gateway/: session and connection records shared by gateway.cpp and
// session_ops.cpp. Touched only on the gateway strand.
#pragma once

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <deque>
#include <exception>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/gateway.hpp"

namespace hype::gateway {

// One event's type and JSON, shared by every session that receives it: the replay buffers of
// 500 sessions hold 500 pointers, not 500 copies.
struct Gateway::Payload {
  std::string type;
  std::string data;
  std::string cursor;  // the event's stream id (cluster on a stream), sent as "c"; else empty
};

struct Gateway::Session {
  std::string id;
  Id user = 0;
  std::shared_ptr<Conn> conn;  // null while detached, waiting for a resume
  std::uint64_t seq = 0;
  std::deque<std::pair<std::uint64_t, std::shared_ptr<const Payload>>> replay;
  std::unordered_map<Id, std::uint64_t> perms;  // guild -> permission bits
  std::int64_t detached_at_ms = 0;
  bool voice_checked = false;  // detached long enough that voice was cleaned up
  // Catching up from the event stream (a resume from another node, or the events between the
  // READY snapshot and registration): live bus events wait in `held` until the replay is
  // delivered, so the client sees stream order without a gap.
  bool catching_up = false;
  std::vector<std::shared_ptr<const Payload>> held;
};

struct Gateway::Conn : net::WsListener, std::enable_shared_from_this<Gateway::Conn> {
  std::weak_ptr<Gateway> gw;
  std::shared_ptr<net::WsConnection> ws;
  std::uint64_t id = 0;
  std::shared_ptr<Session> session;
  std::int64_t opened_ms = 0;
  std::int64_t last_heartbeat_ms = 0;
  bool identifying = false;
  bool closed = false;
  // While identify loads READY (Gateway::recording_): the events dispatched meanwhile.
  std::vector<std::shared_ptr<const cluster::Event>> recorded;
  bool record_overflow = false;
  int peer_close_code = 0;            // close code the client sent, 0 if it just dropped
  telemetry::ReportGate report_gate;  // at most one quality report per 4 s

  void on_message(std::string_view text, bool is_text) override;
  void on_peer_close(int code) override { peer_close_code = code; }
  void on_close() override;
  void close(int code, const std::string& reason) {
    if (closed) return;
    closed = true;
    ws->close(code, reason);
  }
};

// Runs `coroutine` (a callable returning awaitable<void>) on `strand`: how gateway code that
// lives on the strand awaits the Coordinator (which may be Redis) instead of blocking the
// event loop. A failure is logged with `what` and otherwise dropped.
template <typename Strand, typename F>
void spawn_on(Strand& strand, const char* what, F coroutine) {
  boost::asio::co_spawn(strand, std::move(coroutine), [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::warn("gateway {} failed: {}", what, ex.what());
    }
  });
}
// A dispatch frame; `cursor` (when not empty) goes out as "c", what a client resumes from.
std::string make_dispatch(const std::string& type, std::uint64_t seq, const std::string& d_json,
                          const std::string& cursor = {});

}  // namespace hype::gateway
