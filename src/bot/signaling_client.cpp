#include "bot/signaling_client.hpp"

#include <sys/socket.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <stdexcept>

namespace hype::bot {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

bool split_url(const std::string& url, std::string& host, std::string& port, std::string& path) {
  auto p = url.find("://");
  std::string rest = p == std::string::npos ? url : url.substr(p + 3);
  auto slash = rest.find('/');
  path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string hp = rest.substr(0, slash);
  auto colon = hp.rfind(':');
  if (colon == std::string::npos) {
    host = hp;
    port = url.rfind("https", 0) == 0 || url.rfind("wss", 0) == 0 ? "443" : "80";
  } else {
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
  }
  return !host.empty();
}

RawHttpResult http_exchange(const std::string& host, const std::string& port,
                            const std::string& method, const std::string& target,
                            const std::string& body, const std::string& bearer) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.connect(resolver.resolve(host, port));
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, host);
  if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return {static_cast<int>(res.result_int()), std::move(res.body())};
}

HttpResult RestClient::call(const std::string& method, const std::string& path,
                            const json::value& body, const std::string& token) {
  auto raw = http_exchange(host_, port_, method, "/api/v1" + path,
                           body.is_null() ? std::string() : json::serialize(body), token);
  HttpResult r;
  r.status = raw.status;
  beast::error_code ec;
  if (!raw.body.empty()) r.body = json::parse(raw.body, ec);
  return r;
}

struct VoiceSocket::Impl {
  asio::io_context io;
  beast::websocket::stream<beast::tcp_stream> ws{io};
  std::mutex write_mu;
};

VoiceSocket::VoiceSocket() : impl_(std::make_unique<Impl>()) {}
VoiceSocket::~VoiceSocket() = default;

void VoiceSocket::connect(const std::string& host, const std::string& port,
                          const std::string& path) {
  tcp::resolver resolver(impl_->io);
  auto& tcp_layer = beast::get_lowest_layer(impl_->ws);
  tcp_layer.expires_after(std::chrono::seconds(5));  // timeouts apply to async operations only
  beast::error_code ec;
  tcp_layer.async_connect(resolver.resolve(host, port),
                          [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
  impl_->io.restart();
  impl_->io.run();
  if (!ec) {
    impl_->ws.async_handshake(host + ":" + port, path, [&ec](beast::error_code e) { ec = e; });
    impl_->io.restart();
    impl_->io.run();
  }
  tcp_layer.expires_never();
  if (ec) throw beast::system_error(ec);
  impl_->ws.text(true);
}

void VoiceSocket::send(const json::value& v) {
  std::string text = json::serialize(v);
  std::lock_guard lock(impl_->write_mu);  // the signaling thread and the media thread's reports
  impl_->ws.write(asio::buffer(text));
}

json::value VoiceSocket::receive() {
  beast::flat_buffer buf;
  beast::error_code ec;
  impl_->ws.read(buf, ec);
  if (ec == beast::websocket::error::closed)
    throw VoiceClosed(impl_->ws.reason().code,
                      "voice connection closed (" + std::to_string(impl_->ws.reason().code) + ")");
  if (ec) throw VoiceClosed(1006, "voice connection lost: " + ec.message());
  return json::parse(beast::buffers_to_string(buf.data()));
}

void VoiceSocket::abort() {
  ::shutdown(beast::get_lowest_layer(impl_->ws).socket().native_handle(), SHUT_RDWR);
}

void VoiceSocket::close() {
  beast::error_code ec;
  impl_->ws.close(beast::websocket::close_code::normal, ec);
}

}  // namespace hype::bot
