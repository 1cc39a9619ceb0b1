#include "net/gather_stream.hpp"

#include <boost/asio/write.hpp>

namespace hype::net {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kKeptCapacity = 8 * 1024;

// Completes `h` with `args` later on the stream's executor (never inside the caller).
template <class Handler, class... Args>
void complete_later(const GatherStream::executor_type& ex, Handler h, Args... args) {
  asio::post(ex, [h = std::move(h), args...]() mutable { std::move(h)(args...); });
}
}  // namespace

GatherStream::GatherStream(boost::beast::tcp_stream stream, std::size_t limit)
    : state_(std::make_shared<State>(std::move(stream))) {
  state_->limit = limit;
}

GatherStream::~GatherStream() {
  // A flush in flight keeps the state (and the socket) alive: closing ends it.
  if (state_) {
    boost::system::error_code ec;
    state_->stream.socket().close(ec);
  }
}

void GatherStream::uncork() {
  state_->corked = false;
  flush(state_);
}

void GatherStream::accept_write(const std::shared_ptr<State>& s, WriteHandler h, std::size_t n) {
  ++s->writes;
  if (s->error) {
    complete_later(s->stream.get_executor(), std::move(h), s->error, std::size_t{0});
    return;
  }
  if (s->pending.size() > s->limit) {
    // Past the limit: this write completes once a flush has taken the bytes (backpressure).
    s->blocked.emplace(std::move(h), n);
    flush(s);
    return;
  }
  flush(s);
  complete_later(s->stream.get_executor(), std::move(h), boost::system::error_code{}, n);
}

bool GatherStream::try_write(std::string_view a, std::string_view b) {
  auto& s = state_;
  if (s->error || s->pending.size() > s->limit) return false;
  ++s->writes;
  s->pending.append(a);
  s->pending.append(b);
  flush(s);
  return true;
}

void GatherStream::wait_room(const std::shared_ptr<State>& s, IdleHandler h) {
  if (s->error || s->pending.size() <= s->limit) {
    complete_later(s->stream.get_executor(), std::move(h), s->error);
    return;
  }
  s->room.emplace(std::move(h));
  flush(s);  // past the limit: even when corked
}

void GatherStream::flush(const std::shared_ptr<State>& s) {
  if (s->flushing || s->pending.empty() || s->error) return;
  if (s->corked && s->pending.size() <= s->limit) return;
  s->flushing = true;
  s->inflight.swap(s->pending);
  s->pending.clear();
  ++s->flushes;
  asio::async_write(s->stream.socket(), asio::buffer(s->inflight),
                    [s](boost::system::error_code ec, std::size_t) {
                      s->flushing = false;
                      // Keep a small buffer for the next flush, not a burst's worth per
                      // connection (a burst at connect time would stay for good).
                      if (s->inflight.capacity() > kKeptCapacity)
                        std::string().swap(s->inflight);
                      else
                        s->inflight.clear();
                      if (ec && !s->error) s->error = ec;
                      after_flush(s);
                    });
}

void GatherStream::after_flush(const std::shared_ptr<State>& s) {
  if (s->blocked && (s->error || s->pending.size() <= s->limit)) {
    WriteHandler h = std::move(s->blocked->first);
    std::size_t n = s->blocked->second;
    s->blocked.reset();
    auto ec = s->error;
    complete_later(s->stream.get_executor(), std::move(h), ec, ec ? 0 : n);
  }
  if (s->room && (s->error || s->pending.size() <= s->limit)) {
    auto h = std::move(*s->room);
    s->room.reset();
    complete_later(s->stream.get_executor(), std::move(h), s->error);
  }
  flush(s);  // what gathered meanwhile (held while corked, unless past the limit)
  if (!s->flushing && (s->pending.empty() || s->error)) {
    auto idle = std::move(s->idle);
    s->idle.clear();
    for (auto& h : idle) complete_later(s->stream.get_executor(), std::move(h), s->error);
  }
}

void GatherStream::async_wait_idle(GatherStream& g, IdleHandler handler) {
  auto& s = g.state_;
  s->corked = false;
  flush(s);
  if (!s->flushing) {
    complete_later(s->stream.get_executor(), std::move(handler), s->error);
    return;
  }
  s->idle.push_back(std::move(handler));
}

void teardown(boost::beast::role_type role, GatherStream& s, boost::system::error_code& ec) {
  boost::beast::websocket::teardown(role, s.next_layer().socket(), ec);
}

}  // namespace hype::net
