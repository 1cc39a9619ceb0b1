#include "net/websocket_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

namespace hype::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;

namespace {

class WsSession final : public WsConnection, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(beast::tcp_stream stream, std::string ip, std::function<void()> on_done)
      : ws_(std::move(stream)), ip_(std::move(ip)), on_done_(std::move(on_done)) {}
  ~WsSession() override {
    if (on_done_) on_done_();
  }

  void send(std::string text) override {
    queued_.fetch_add(1, std::memory_order_relaxed);
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
      if (self->closing_) {
        self->queued_.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
      self->queue_.push_back(std::move(t));
      if (!self->writing_) self->start_writer();
    });
  }

  void close(int code, std::string reason) override {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)] {
      if (self->closing_) return;
      self->closing_ = true;
      self->close_code_ = code;
      self->close_reason_ = r;
      // Drop what is queued: a closing (often slow) client gets the close frame next.
      self->queued_.fetch_sub(self->queue_.size(), std::memory_order_relaxed);
      self->queue_.clear();
      if (!self->writing_) self->start_writer();
    });
  }

  std::size_t queued() const override { return queued_.load(std::memory_order_relaxed); }
  const std::string& remote_ip() const override { return ip_; }

  asio::awaitable<void> run(http::request<http::string_body> req, HttpRequest plain,
                            std::size_t max_frame, WsOpenFn open) {
    auto self = shared_from_this();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "hype"); }));
    ws_.read_message_max(max_frame);
    auto [aec] = co_await ws_.async_accept(req, asio::as_tuple(asio::use_awaitable));
    if (aec) co_return;
    listener_ = open(self, plain);
    if (!listener_) {
      websocket::close_reason cr(websocket::close_code::policy_error);
      co_await ws_.async_close(cr, asio::as_tuple(asio::use_awaitable));
      co_return;
    }
    beast::flat_buffer buf;
    int peer_code = 0;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buf, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec == websocket::error::closed) {
        // The peer sent a close frame; one without a status code counts as 1005 (RFC 6455).
        peer_code = ws_.reason().code == websocket::close_code::none ? 1005 : ws_.reason().code;
      }
      if (ec) break;
      if (!closing_) {
        auto data = buf.data();
        std::string_view text(static_cast<const char*>(data.data()), data.size());
        listener_->on_message(text, ws_.got_text());
      }
      buf.consume(buf.size());
    }
    closing_ = true;
    auto l = std::move(listener_);
    if (l) {
      if (peer_code) l->on_peer_close(peer_code);
      l->on_close();
    }
  }

 private:
  void start_writer() {
    writing_ = true;
    asio::co_spawn(ws_.get_executor(), write_loop(shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<WsSession> self) {
    while (!self->queue_.empty()) {
      std::string msg = std::move(self->queue_.front());
      self->queue_.pop_front();
      self->ws_.text(true);
      auto [ec, n] =
          co_await self->ws_.async_write(asio::buffer(msg), asio::as_tuple(asio::use_awaitable));
      (void)n;
      self->queued_.fetch_sub(1, std::memory_order_relaxed);
      if (ec) {
        self->queued_.fetch_sub(self->queue_.size(), std::memory_order_relaxed);
        self->queue_.clear();
        self->writing_ = false;
        co_return;
      }
    }
    if (self->closing_ && !self->close_sent_) {
      self->close_sent_ = true;
      websocket::close_reason cr;
      cr.code = static_cast<std::uint16_t>(self->close_code_);
      cr.reason = self->close_reason_;
      // A client that never answers the close must not keep the socket: bound the wait.
      beast::get_lowest_layer(self->ws_).expires_after(std::chrono::seconds(5));
      co_await self->ws_.async_close(cr, asio::as_tuple(asio::use_awaitable));
    }
    self->writing_ = false;
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::string ip_;
  std::function<void()> on_done_;
  std::shared_ptr<WsListener> listener_;
  std::deque<std::string> queue_;
  std::atomic<std::size_t> queued_{0};
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  int close_code_ = 1000;
  std::string close_reason_;
};

}  // namespace

void run_websocket(beast::tcp_stream stream, http::request<http::string_body> req,
                   HttpRequest plain, std::size_t max_frame, const WsOpenFn& open,
                   std::function<void()> on_done) {
  auto ex = stream.get_executor();
  auto session =
      std::make_shared<WsSession>(std::move(stream), plain.remote_ip, std::move(on_done));
  asio::co_spawn(ex, session->run(std::move(req), std::move(plain), max_frame, open),
                 asio::detached);
}

}  // namespace hype::net
