// The bridge from the cluster seam's awaitable operations to code that may block: the
// blocking pool's threads (domain services, which already wait there for the database) and
// tests. Never call it on the event loop: that is what the awaitable form is for.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace hype::cluster {

namespace detail {
// One small io_context per thread, reused: the operation's completions (a Redis reply, say)
// are posted back to it while this thread runs it, so no other thread has to be free.
inline boost::asio::io_context& wait_context() {
  thread_local boost::asio::io_context ctx(1);
  return ctx;
}
}  // namespace detail

// Runs `op` to completion on the calling thread and returns its result (or rethrows).
// An in-process backend completes without suspending: this costs one coroutine frame.
template <typename T>
T wait(boost::asio::awaitable<T> op) {
  auto& ctx = detail::wait_context();
  ctx.restart();
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(ctx, std::move(op), [&](std::exception_ptr e) { error = e; });
    ctx.run();
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<T> out;
    boost::asio::co_spawn(ctx, std::move(op), [&](std::exception_ptr e, T v) {
      error = e;
      if (!e) out.emplace(std::move(v));
    });
    ctx.run();
    if (error) std::rethrow_exception(error);
    return std::move(*out);
  }
}

}  // namespace hype::cluster
