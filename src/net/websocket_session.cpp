#include "net/websocket_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

#include "net/gather_stream.hpp"

namespace hype::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;

namespace {

constexpr int kCloseGraceS = 5;  // for the close frame to get out and the peer's to come back
constexpr int kShedGraceS = 1;
constexpr int kMaxInflight = 32;  // frames handed to the listener and not handled yet

// The header of an unmasked final text frame of `n` bytes (RFC 6455 5.2) into `out` (10 bytes
// of room); returns its length.
std::size_t text_frame_header(char* out, std::size_t n) {
  out[0] = static_cast<char>(0x81);
  if (n < 126) {
    out[1] = static_cast<char>(n);
    return 2;
  }
  if (n <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<char>((n >> 8) & 0xFF);
    out[3] = static_cast<char>(n & 0xFF);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<char>((static_cast<std::uint64_t>(n) >> (56 - 8 * i)) & 0xFF);
  return 10;
}

class WsSession final : public WsConnection, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(beast::tcp_stream stream, std::string ip, const WsOptions& options,
            std::shared_ptr<ConnectionLimits> limits, std::function<void()> on_done)
      : ws_(std::move(stream)),
        ip_(std::move(ip)),
        opts_(options),
        limits_(std::move(limits)),
        on_done_(std::move(on_done)),
        identify_timer_(ws_.get_executor()),
        deadline_(ws_.get_executor()),
        drained_(ws_.get_executor()),
        tokens_(options.frame_budget),
        last_refill_(std::chrono::steady_clock::now()) {}
  ~WsSession() override {
    release_unauthenticated();
    if (on_done_) on_done_();
  }

  void send(std::string text) override {
    queued_.fetch_add(1, std::memory_order_relaxed);
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
      if (self->closing_) {
        self->queued_.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
      // Bounded in frames and bytes (one frame always fits, whatever its size): a client
      // that does not read costs at most this much memory, then it is cut off.
      if (self->queue_.size() >= self->opts_.max_send_queue ||
          (!self->queue_.empty() && self->queued_bytes_ + t.size() > self->opts_.max_send_bytes)) {
        self->queued_.fetch_sub(1, std::memory_order_relaxed);
        self->do_close(kWsSlowConsumer, "send queue overflow: reading too slowly", kCloseGraceS);
        return;
      }
      self->queued_bytes_ += t.size();
      self->queue_.push_back(std::move(t));
      if (!self->writing_) self->start_writer();
    });
  }

  void close(int code, std::string reason) override {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)] {
      self->do_close(code, r, kCloseGraceS);
    });
  }

  void set_authenticated() override {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      if (self->authenticated_) return;
      self->authenticated_ = true;
      self->identify_timer_.cancel();
      self->release_unauthenticated();
    });
  }

  // On the strand: a ticket is taken inside on_message.
  void frame_begin() override { ++inflight_; }
  void frame_done() override {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      --self->inflight_;
      if (self->inflight_ <= kMaxInflight / 2) self->drained_.cancel();
    });
  }

  std::size_t queued() const override { return queued_.load(std::memory_order_relaxed); }
  const std::string& remote_ip() const override { return ip_; }

  asio::awaitable<void> run(http::request<http::string_body> req, HttpRequest plain,
                            WsOpenFn open) {
    auto self = shared_from_this();
    // Beast's idle timeout with pings: a peer that answers nothing for two minutes is gone.
    // Browsers answer pings by themselves, so a quiet but live /voice client stays.
    websocket::stream_base::timeout to;
    to.handshake_timeout = std::chrono::seconds(30);
    to.idle_timeout = std::chrono::seconds(120);
    to.keep_alive_pings = true;
    ws_.set_option(to);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "hype"); }));
    ws_.read_message_max(opts_.max_frame_bytes);
    auto [aec] = co_await ws_.async_accept(req, asio::as_tuple(asio::use_awaitable));
    if (aec) co_return;
    listener_ = open(self, plain);
    if (!listener_) {
      websocket::close_reason cr(websocket::close_code::policy_error);
      co_await ws_.async_close(cr, asio::as_tuple(asio::use_awaitable));
      co_return;
    }
    if (!authenticated_) watch_identify();
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
      // Once closing, frames are read and dropped until the close completes or its deadline
      // drops the socket: a client pipelining frames costs no memory.
      if (!closing_) {
        if (!take_frame_token()) {
          do_close(kWsRateLimited, "rate limited: too many frames", kCloseGraceS);
        } else {
          auto data = buf.data();
          std::string_view text(static_cast<const char*>(data.data()), data.size());
          listener_->on_message(text, ws_.got_text());
        }
      }
      buf.consume(buf.size());
      while (inflight_ > kMaxInflight && !closing_) {
        drained_.expires_at(std::chrono::steady_clock::time_point::max());
        co_await drained_.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
    closing_ = true;
    identify_timer_.cancel();
    release_unauthenticated();
    auto l = std::move(listener_);
    if (l) {
      if (peer_code) l->on_peer_close(peer_code);
      l->on_close();
    }
  }

 private:
  void watch_identify() {
    std::weak_ptr<WsSession> weak = shared_from_this();
    unauth_ticket_ = limits_->add_sheddable(ConnectionLimits::Kind::kUnauthenticatedWs, [weak] {
      if (auto s = weak.lock())
        asio::dispatch(s->ws_.get_executor(), [s] {
          s->unauth_ticket_ = 0;
          if (!s->authenticated_)
            s->do_close(kWsTryAgainLater, "server busy: identify sooner", kShedGraceS);
        });
    });
    identify_timer_.expires_after(std::chrono::seconds(opts_.identify_timeout_s));
    identify_timer_.async_wait([weak](boost::system::error_code ec) {
      auto s = weak.lock();
      if (ec || !s || s->authenticated_) return;
      s->do_close(kWsNotIdentified,
                  fmt::format("identify within {} seconds", s->opts_.identify_timeout_s),
                  kCloseGraceS);
    });
  }

  void release_unauthenticated() {
    if (unauth_held_) limits_->remove_unauthenticated(ip_);
    unauth_held_ = false;
    limits_->remove_sheddable(unauth_ticket_);
    unauth_ticket_ = 0;
  }

  bool take_frame_token() {
    if (opts_.frame_budget <= 0) return true;
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    tokens_ = std::min(opts_.frame_budget,
                       tokens_ + elapsed * opts_.frame_budget / opts_.frame_budget_seconds);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

  void do_close(int code, const std::string& reason, int grace_s) {
    if (closing_) return;
    closing_ = true;
    close_code_ = code;
    close_reason_ = reason;
    identify_timer_.cancel();
    // Drop what is queued: a closing (often slow) client gets the close frame next.
    queued_.fetch_sub(queue_.size(), std::memory_order_relaxed);
    queue_.clear();
    queued_bytes_ = 0;
    drained_.cancel();
    // Whatever the peer does (never reads, never answers the close), the socket is gone then.
    arm_deadline(grace_s);
    if (!writing_) start_writer();
  }

  void arm_deadline(int seconds) {
    deadline_.expires_after(std::chrono::seconds(seconds));
    deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto s = weak.lock()) {
        s->closing_ = true;
        beast::get_lowest_layer(s->ws_).close();  // fails every pending read and write
      }
    });
  }

  void start_writer() {
    writing_ = true;
    asio::co_spawn(ws_.get_executor(), write_loop(shared_from_this()), asio::detached);
  }

  // Writes what is queued; the frames of one wake-up leave in one socket write. Text frames
  // are built here (RFC 6455 5.2: FIN, opcode 1, unmasked from a server) and appended to the
  // GatherStream whole, so they never interleave with the control frames Beast writes there
  // (pong, ping, close: whole frames too); Beast writes no data frames on this stream. Past
  // the GatherStream's limit the writer waits for the socket, under the write deadline.
  static asio::awaitable<void> write_loop(std::shared_ptr<WsSession> self) {
    GatherStream& out = self->ws_.next_layer();
    out.cork();
    while (!self->queue_.empty()) {
      std::string& msg = self->queue_.front();
      char header[10];
      std::size_t header_len = text_frame_header(header, msg.size());
      if (!out.try_write(std::string_view(header, header_len), msg)) {
        if (!out.failed()) {
          // A write that cannot finish (the peer stopped reading) must not hold the socket.
          if (!self->closing_) self->arm_deadline(self->opts_.write_timeout_s);
          auto [ec] = co_await out.async_wait_room(asio::as_tuple(asio::use_awaitable));
          if (!self->closing_) self->deadline_.cancel();
          if (!ec) continue;
        }
        self->queued_.fetch_sub(self->queue_.size(), std::memory_order_relaxed);
        self->queue_.clear();
        self->queued_bytes_ = 0;
        self->writing_ = false;
        out.uncork();
        co_return;
      }
      self->queued_bytes_ -= std::min(self->queued_bytes_, msg.size());
      self->queue_.pop_front();
      self->queued_.fetch_sub(1, std::memory_order_relaxed);
    }
    self->ws_.next_layer().uncork();
    if (self->closing_ && !self->close_sent_) {
      self->close_sent_ = true;
      websocket::close_reason cr;
      cr.code = static_cast<std::uint16_t>(self->close_code_);
      cr.reason = self->close_reason_;
      co_await self->ws_.async_close(cr, asio::as_tuple(asio::use_awaitable));
    }
    self->writing_ = false;
  }

  websocket::stream<GatherStream> ws_;
  std::string ip_;
  WsOptions opts_;
  std::shared_ptr<ConnectionLimits> limits_;
  std::function<void()> on_done_;
  std::shared_ptr<WsListener> listener_;
  asio::steady_timer identify_timer_;
  asio::steady_timer deadline_;
  asio::steady_timer drained_;  // wakes the read loop once frames in flight drop
  int inflight_ = 0;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::atomic<std::size_t> queued_{0};
  double tokens_;
  std::chrono::steady_clock::time_point last_refill_;
  bool unauth_held_ = true;  // run_websocket's caller reserved the place
  ConnectionLimits::Ticket unauth_ticket_ = 0;
  bool authenticated_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  int close_code_ = 1000;
  std::string close_reason_;
};

}  // namespace

void run_websocket(beast::tcp_stream stream, http::request<http::string_body> req,
                   HttpRequest plain, const WsOptions& options,
                   std::shared_ptr<ConnectionLimits> limits, const WsOpenFn& open,
                   std::function<void()> on_done) {
  auto ex = stream.get_executor();
  auto session = std::make_shared<WsSession>(std::move(stream), plain.remote_ip, options,
                                             std::move(limits), std::move(on_done));
  asio::co_spawn(ex, session->run(std::move(req), std::move(plain), open), asio::detached);
}

}  // namespace hype::net
