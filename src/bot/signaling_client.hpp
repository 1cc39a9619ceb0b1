// hype-bot's control-plane client: blocking REST calls (JSON over HTTP/1.1) and the /voice
// WebSocket, on Boost.Beast. Each bot uses its own instances from its own thread.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <stdexcept>
#include <string>

namespace hype::bot {

struct HttpResult {
  int status = 0;
  boost::json::value body;
};

// One blocking HTTP/1.1 exchange on a fresh connection: `body` is sent as JSON when not
// empty, `bearer` as an Authorization header when not empty. Returns the status and raw
// body; throws std::runtime_error (Beast's system_error) on transport failure.
struct RawHttpResult {
  int status = 0;
  std::string body;
};
RawHttpResult http_exchange(const std::string& host, const std::string& port,
                            const std::string& method, const std::string& target,
                            const std::string& body, const std::string& bearer = {});

class RestClient {
 public:
  RestClient(std::string host, std::string port) : host_(std::move(host)), port_(std::move(port)) {}
  // path under /api/v1; throws std::runtime_error on transport failure.
  HttpResult call(const std::string& method, const std::string& path,
                  const boost::json::value& body = nullptr, const std::string& token = {});

 private:
  std::string host_, port_;
};

// The /voice connection ended: `code` is the close frame's (4006: the voice state ended,
// 4012: join again, docs/protocol.md), 1006 when the connection dropped without one.
struct VoiceClosed : std::runtime_error {
  VoiceClosed(int c, const std::string& what) : std::runtime_error(what), code(c) {}
  int code;
};

class VoiceSocket {
 public:
  VoiceSocket();
  ~VoiceSocket();
  // TCP connect and WebSocket handshake, 5 s at most (a node cut from the network must not
  // hold a rejoin for TCP's two minutes); throws on failure.
  void connect(const std::string& host, const std::string& port, const std::string& path);
  void send(const boost::json::value& v);
  // Blocks for the next frame; throws VoiceClosed when the connection ends.
  boost::json::value receive();
  void close();
  // Unblocks a receive() waiting in another thread (shutdown of the TCP socket).
  void abort();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "http://host:port" -> host, port.
bool split_url(const std::string& url, std::string& host, std::string& port, std::string& path);

}  // namespace hype::bot
