// Internal to net/: the layer under a WebSocket stream that gathers its writes. Beast writes
// one WebSocket message per write call, so a connection with N frames queued cost N sendmsg
// calls. Here a write only copies the bytes into a pending buffer and completes at once (while
// less than `limit` bytes are pending); one flush at a time writes everything pending in one
// call. While a flush is on the wire the next frames gather, and cork() holds them until
// uncork(): a burst for one connection leaves in one sendmsg however many frames it holds.
//
// Backpressure stays: past `limit` pending bytes a write completes only once a flush took
// them (a peer that stops reading stalls its writer, as before, and the writer's deadline cuts
// it off). A flush that fails fails every later write with the same error. The pending bytes
// and the socket live in a shared state, so a flush in flight outlives the stream object;
// destroying the stream closes the socket, which ends that flush.
//
// Reads go straight to the socket. Teardown (the WebSocket close) waits for the pending bytes
// (the close frame among them) to be written before it shuts the socket down.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hype::net {

class GatherStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using next_layer_type = boost::beast::tcp_stream;
  using WriteHandler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
  using IdleHandler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  explicit GatherStream(boost::beast::tcp_stream stream, std::size_t limit = 64 * 1024);
  GatherStream(GatherStream&&) = default;
  ~GatherStream();

  executor_type get_executor() { return state_->stream.get_executor(); }
  next_layer_type& next_layer() { return state_->stream; }
  const next_layer_type& next_layer() const { return state_->stream; }

  // Holds pending bytes until uncork() (or until `limit` is reached).
  void cork() { state_->corked = true; }
  void uncork();

  // Appends `a` then `b` as one write, unless `limit` bytes are pending already or the stream
  // failed (then false: see failed(), async_wait_room). For frames built by the caller: no
  // asynchronous operation, no allocation beyond the buffer's growth.
  bool try_write(std::string_view a, std::string_view b);
  bool failed() const { return static_cast<bool>(state_->error); }
  // Completes once a write fits again (pending bytes at or under the limit) or the stream
  // failed (with its error).
  template <class Token>
  auto async_wait_room(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [state = state_](auto handler) { wait_room(state, IdleHandler(std::move(handler))); },
        token);
  }

  // Write calls and the flushes that sent bytes (a measure of the gathering).
  std::size_t writes() const { return state_->writes; }
  std::size_t flushes() const { return state_->flushes; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return state_->stream.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
        [state = state_](auto handler, const ConstBufferSequence& b) {
          std::size_t n = boost::asio::buffer_size(b);
          if (!state->error) {
            std::size_t at = state->pending.size();
            state->pending.resize(at + n);
            boost::asio::buffer_copy(boost::asio::buffer(state->pending.data() + at, n), b);
          }
          accept_write(state, WriteHandler(std::move(handler)), n);
        },
        token, buffers);
  }

  // Calls `handler` once nothing is pending or being written (or the stream failed).
  static void async_wait_idle(GatherStream& s, IdleHandler handler);

 private:
  struct State {
    explicit State(boost::beast::tcp_stream s) : stream(std::move(s)) {}
    boost::beast::tcp_stream stream;
    std::string pending;   // bytes accepted, not yet handed to the socket
    std::string inflight;  // the bytes of the flush on the wire
    std::size_t limit = 0;
    bool corked = false;
    bool flushing = false;
    boost::system::error_code error;
    std::optional<std::pair<WriteHandler, std::size_t>> blocked;  // a write past the limit
    std::vector<IdleHandler> idle;
    std::optional<IdleHandler> room;  // async_wait_room
    std::size_t writes = 0, flushes = 0;
  };

  static void accept_write(const std::shared_ptr<State>& s, WriteHandler h, std::size_t n);
  static void wait_room(const std::shared_ptr<State>& s, IdleHandler h);
  static void flush(const std::shared_ptr<State>& s);
  static void after_flush(const std::shared_ptr<State>& s);

  std::shared_ptr<State> state_;
};

// Beast's WebSocket close ends with a teardown of the next layer: after the pending bytes.
void teardown(boost::beast::role_type role, GatherStream& s, boost::system::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, GatherStream& s, TeardownHandler&& handler) {
  GatherStream::async_wait_idle(
      s, [role, &s, h = std::forward<TeardownHandler>(handler)](boost::system::error_code) mutable {
        boost::beast::async_teardown(role, s.next_layer(), std::move(h));
      });
}

}  // namespace hype::net
