// A bounded pool of threads for blocking work (database calls, password hashing), awaitable
// from coroutines on the event loop: the coroutine resumes on its own executor afterwards,
// and exceptions thrown by the work are rethrown at the co_await.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

namespace hype::net {

class BlockingPool {
 public:
  explicit BlockingPool(int threads) : pool_(static_cast<std::size_t>(threads)) {}
  ~BlockingPool() { pool_.join(); }

  template <typename F>
  boost::asio::awaitable<std::invoke_result_t<F&>> run(F f) {
    using R = std::invoke_result_t<F&>;
    co_return co_await boost::asio::co_spawn(
        pool_.get_executor(),
        [f = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return f(); },
        boost::asio::use_awaitable);
  }

  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }
  void stop() { pool_.stop(); }
  void join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace hype::net
