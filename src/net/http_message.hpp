// Plain HTTP request/response records and the WebSocket connection interface. Everything
// above net/ speaks these types, so only net/ compiles Boost.Beast.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hype::net {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // as sent: path?query
  std::string path;                                          // percent-decoded path
  std::string query;                                         // raw query string, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote_ip;  // the client: the peer, or whom a trusted proxy names (normalized)
  bool keep_alive = true;

  std::string_view header(std::string_view lower_name) const;
  // Value of a query parameter, percent-decoded; nullopt if absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static HttpResponse json(int status, std::string body);
  static HttpResponse error(int status, std::string_view code, std::string_view message);
};

// Decodes %XX and (when plus_is_space) '+'. Returns nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// WebSocket close codes the transport itself uses on every endpoint (docs/protocol.md).
enum WsCloseCode : int {
  kWsTryAgainLater = 1013,  // shed while not identified: the server is short of descriptors
  kWsNotIdentified = 4003,  // no identify within the deadline
  kWsRateLimited = 4008,    // inbound frame budget exhausted
  kWsSlowConsumer = 4010,   // send queue over its frame or byte bound
};

// One accepted WebSocket connection, as the layers above see it. Thread-safe: send and close
// may be called from any thread; they run on the connection's own strand.
class WsConnection {
 public:
  virtual ~WsConnection() = default;
  // Queues a text frame. Past the send queue bound the connection closes with 4010 instead.
  virtual void send(std::string text) = 0;
  virtual void close(int code, std::string reason) = 0;
  virtual std::size_t queued() const = 0;  // frames waiting to be written
  virtual const std::string& remote_ip() const = 0;
  // The client identified: no identify deadline any more, never shed, and it no longer
  // counts against its address's unauthenticated cap. (No-op default: test doubles.)
  virtual void set_authenticated() {}
  // Inbound pacing, through WsFrameTicket: while too many received frames are not handled
  // yet, the connection stops reading (TCP pushes back on the client) instead of queueing
  // them in memory.
  virtual void frame_begin() {}
  virtual void frame_done() {}
};

// Held by a listener for as long as one received frame is being handled (move it into the
// handler it posts); reading resumes as tickets go away.
class WsFrameTicket {
 public:
  explicit WsFrameTicket(std::shared_ptr<WsConnection> c) : c_(std::move(c)) {
    if (c_) c_->frame_begin();
  }
  WsFrameTicket(WsFrameTicket&& o) noexcept = default;
  WsFrameTicket& operator=(WsFrameTicket&&) = delete;
  WsFrameTicket(const WsFrameTicket&) = delete;
  WsFrameTicket& operator=(const WsFrameTicket&) = delete;
  ~WsFrameTicket() {
    if (c_) c_->frame_done();
  }

 private:
  std::shared_ptr<WsConnection> c_;
};

// Receives a connection's events, on the connection's strand.
class WsListener {
 public:
  virtual ~WsListener() = default;
  virtual void on_message(std::string_view text, bool is_text) = 0;
  // The peer sent a close frame with this code (1000 normal, 1001 going away, 1005 none
  // given); called just before on_close. Not called when the connection simply dropped.
  virtual void on_peer_close(int /*code*/) {}
  virtual void on_close() = 0;  // after this, no more calls
};

}  // namespace hype::net
