#include "cluster/redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

namespace hype::cluster {

namespace asio = boost::asio;
using Strand = asio::strand<asio::any_io_executor>;

namespace {

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = r->type == REDIS_REPLY_STRING   ? RedisReply::Type::string
                 : r->type == REDIS_REPLY_STATUS ? RedisReply::Type::status
                                                 : RedisReply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::nil;
  }
  return out;
}

// hiredis's event hooks on an Asio descriptor. It watches the fd hiredis owns (released, never
// closed, at cleanup) and calls redisAsyncHandleRead/Write when it is ready, for as long as
// hiredis wants. The waits hold a shared_ptr, so the adapter outlives cleanup until they end.
struct Adapter : std::enable_shared_from_this<Adapter> {
  Adapter(Strand& s, redisAsyncContext* c, int fd) : ctx(c), sd(s, fd) {}
  redisAsyncContext* ctx;
  asio::posix::stream_descriptor sd;
  bool alive = true, want_read = false, want_write = false, reading = false, writing = false;

  void arm(bool read) {
    bool& waiting = read ? reading : writing;
    if (!alive || waiting || !(read ? want_read : want_write)) return;
    waiting = true;
    sd.async_wait(read ? asio::posix::stream_descriptor::wait_read
                       : asio::posix::stream_descriptor::wait_write,
                  [self = shared_from_this(), read](boost::system::error_code ec) {
                    (read ? self->reading : self->writing) = false;
                    if (ec || !self->alive || !(read ? self->want_read : self->want_write)) return;
                    if (read)
                      redisAsyncHandleRead(self->ctx);
                    else
                      redisAsyncHandleWrite(self->ctx);
                    self->arm(read);  // no-op once cleanup ran inside the handle call
                  });
  }
};

// ev.data: a heap shared_ptr, so cleanup can drop hiredis's reference.
using AdapterRef = std::shared_ptr<Adapter>;
Adapter& adapter(void* p) {
  return **static_cast<AdapterRef*>(p);
}

}  // namespace

struct RedisClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(const asio::any_io_executor& ex, RedisOptions o)
      : strand(asio::make_strand(ex)), opts(std::move(o)), retry(strand), connect_timer(strand) {}

  Strand strand;
  RedisOptions opts;
  redisAsyncContext* ctx = nullptr;
  std::atomic<bool> is_connected{false};
  std::atomic<std::uint64_t> connect_count{0};
  bool stopped = false, started = false;
  bool first_attempt_done = false;  // the first connect succeeded or failed
  std::chrono::milliseconds backoff{0};
  asio::steady_timer retry, connect_timer;
  std::size_t pending = 0;
  std::map<std::string, MessageHandler> subscriptions;

  // One command's outcome, filled by hiredis's callback; the timer wakes the waiting coroutine.
  struct Call {
    explicit Call(Strand& s) : timer(s) {}
    asio::steady_timer timer;
    bool done = false;
    bool failed = false;  // no reply: the connection went away
    RedisReply reply;
  };

  void connect() {
    if (stopped) return;
    ctx = redisAsyncConnect(opts.host.c_str(), opts.port);
    if (!ctx || ctx->err) {
      spdlog::warn("redis {}:{}: connect failed: {}", opts.host, opts.port,
                   ctx ? ctx->errstr : "out of memory");
      if (ctx) redisAsyncFree(ctx);
      ctx = nullptr;
      return schedule_reconnect();
    }
    ctx->data = this;
    auto* ref = new AdapterRef(std::make_shared<Adapter>(strand, ctx, ctx->c.fd));
    ctx->ev.data = ref;
    ctx->ev.addRead = [](void* p) {
      adapter(p).want_read = true;
      adapter(p).arm(true);
    };
    ctx->ev.delRead = [](void* p) { adapter(p).want_read = false; };
    ctx->ev.addWrite = [](void* p) {
      adapter(p).want_write = true;
      adapter(p).arm(false);
    };
    ctx->ev.delWrite = [](void* p) { adapter(p).want_write = false; };
    ctx->ev.cleanup = [](void* p) {
      auto* r = static_cast<AdapterRef*>(p);
      Adapter& a = **r;
      a.alive = false;
      a.want_read = a.want_write = false;
      boost::system::error_code ignored;
      a.sd.cancel(ignored);
      (void)a.sd.release();  // hiredis closes its own fd
      delete r;
    };
    redisAsyncSetConnectCallback(ctx, [](const redisAsyncContext* c, int status) {
      if (auto* self = static_cast<Impl*>(c->data)) self->on_connect(status);
    });
    redisAsyncSetDisconnectCallback(ctx, [](const redisAsyncContext* c, int status) {
      // data is null when shutdown() frees the context (hiredis still calls this then).
      if (auto* self = static_cast<Impl*>(c->data)) self->on_disconnect(status);
    });
    // hiredis learns that connect(2) finished from the first write readiness.
    ctx->ev.addWrite(ctx->ev.data);
    connect_timer.expires_after(opts.connect_timeout);
    connect_timer.async_wait([self = shared_from_this(), c = ctx](boost::system::error_code ec) {
      if (ec || self->ctx != c || self->is_connected) return;
      spdlog::warn("redis {}:{}: connect timed out", self->opts.host, self->opts.port);
      self->ctx = nullptr;
      redisAsyncFree(c);  // not connected: no disconnect callback; pending calls get no reply
      self->schedule_reconnect();
    });
  }

  void on_connect(int status) {
    connect_timer.cancel();
    if (status != REDIS_OK) {
      spdlog::warn("redis {}:{}: connect failed: {}", opts.host, opts.port,
                   ctx && ctx->errstr ? ctx->errstr : "");
      ctx = nullptr;  // hiredis frees it after this callback
      return schedule_reconnect();
    }
    backoff = std::chrono::milliseconds(0);
    if (!opts.password.empty()) raw({"AUTH", opts.password}, nullptr);
    if (opts.db != 0) raw({"SELECT", std::to_string(opts.db)}, nullptr);
    is_connected = true;
    first_attempt_done = true;
    ++connect_count;
    if (connect_count > 1) spdlog::info("redis {}:{}: reconnected", opts.host, opts.port);
    for (auto& [channel, handler] : subscriptions) send_subscribe(channel);
  }

  void on_disconnect(int status) {
    if (status != REDIS_OK && !stopped)
      spdlog::warn("redis {}:{}: connection lost: {}", opts.host, opts.port,
                   ctx && ctx->errstr ? ctx->errstr : "");
    is_connected = false;
    ctx = nullptr;  // hiredis frees it after this callback
    schedule_reconnect();
  }

  void schedule_reconnect() {
    is_connected = false;
    first_attempt_done = true;
    if (stopped) return;
    backoff = std::clamp(backoff * 2, opts.min_backoff, opts.max_backoff);
    retry.expires_after(backoff);
    retry.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->ctx) self->connect();
    });
  }

  // Queues a command; `call` (may be null) gets the reply. False when it could not be queued.
  bool raw(const std::vector<std::string>& args, std::shared_ptr<Call> call) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* holder = call ? new std::shared_ptr<Call>(std::move(call)) : nullptr;
    int rc = redisAsyncCommandArgv(
        ctx,
        [](redisAsyncContext* c, void* r, void* priv) {
          auto* h = static_cast<std::shared_ptr<Call>*>(priv);
          if (!h) return;
          Call& out = **h;
          auto* self = static_cast<Impl*>(c->data);
          if (self) --self->pending;
          if (!out.done) {
            out.done = true;
            if (r)
              out.reply = convert(static_cast<redisReply*>(r));
            else
              out.failed = true;
            out.timer.cancel();
          }
          delete h;
        },
        holder, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (rc != REDIS_OK) {
      delete holder;
      return false;
    }
    if (holder) ++pending;
    return true;
  }

  void send_subscribe(const std::string& channel) {
    const char* argv[2] = {"SUBSCRIBE", channel.data()};
    std::size_t lens[2] = {9, channel.size()};
    redisAsyncCommandArgv(
        ctx,
        [](redisAsyncContext* c, void* r, void*) {
          auto* self = static_cast<Impl*>(c->data);
          auto* reply = static_cast<redisReply*>(r);
          if (!self || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
          std::string kind(reply->element[0]->str ? reply->element[0]->str : "",
                           reply->element[0]->len);
          if (kind != "message") return;
          std::string name(reply->element[1]->str, reply->element[1]->len);
          auto it = self->subscriptions.find(name);
          if (it != self->subscriptions.end())
            it->second(name, std::string(reply->element[2]->str, reply->element[2]->len));
        },
        nullptr, 2, argv, lens);
  }

  asio::awaitable<RedisReply> run(std::vector<std::string> args) {
    if (stopped) throw RedisError("closed", "redis client stopped");
    if (started && !first_attempt_done) {
      // A command right after start(): wait for the first connect (within the command's
      // timeout) rather than fail a node's first heartbeat or a first voice join. Once that
      // attempt is over, commands fail fast while Redis is unreachable, as below.
      auto wait = std::make_shared<asio::steady_timer>(strand);
      auto deadline = std::chrono::steady_clock::now() + opts.command_timeout;
      while (!stopped && !first_attempt_done && std::chrono::steady_clock::now() < deadline) {
        wait->expires_after(std::chrono::milliseconds(5));
        boost::system::error_code ec;
        co_await wait->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (stopped) throw RedisError("closed", "redis client stopped");
    }
    if (!ctx || !is_connected)
      throw RedisError("unavailable",
                       "redis " + opts.host + ":" + std::to_string(opts.port) + " is unavailable");
    if (pending >= opts.max_pending)
      throw RedisError("overloaded", "too many redis commands in flight");
    auto call = std::make_shared<Call>(strand);
    if (!raw(args, call)) throw RedisError("unavailable", "redis connection is closing");
    call->timer.expires_after(opts.command_timeout);
    boost::system::error_code ec;
    co_await call->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!call->done) {
      call->done = true;  // the late reply is dropped by its callback
      throw RedisError("timeout", "redis command timed out");
    }
    if (call->failed) throw RedisError("unavailable", "redis connection lost before the reply");
    co_return std::move(call->reply);
  }

  void shutdown() {
    stopped = true;
    retry.cancel();
    connect_timer.cancel();
    if (ctx) {
      auto* c = ctx;
      ctx = nullptr;
      is_connected = false;
      c->data = nullptr;  // callbacks during the free must not reach this object
      redisAsyncFree(c);  // pending calls get no reply (their timers wake them)
    }
  }
};

RedisClient::RedisClient(const asio::any_io_executor& ex, RedisOptions options)
    : impl_(std::make_shared<Impl>(ex, std::move(options))) {}

RedisClient::~RedisClient() {
  stop();
}

void RedisClient::start() {
  asio::post(impl_->strand, [impl = impl_] {
    if (impl->started || impl->stopped) return;
    impl->started = true;
    impl->connect();
  });
}

void RedisClient::stop() {
  asio::post(impl_->strand, [impl = impl_] { impl->shutdown(); });
}

std::optional<RedisOptions> parse_redis_url(const std::string& url) {
  static constexpr std::string_view kScheme = "redis://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  std::string rest = url.substr(kScheme.size());
  RedisOptions o;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = auth.find(':');
    o.password = colon == std::string::npos ? auth : auth.substr(colon + 1);
  }
  std::string hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    hostport = rest.substr(0, slash);
    std::string db = rest.substr(slash + 1);
    if (!db.empty()) {
      if (db.size() > 2 || db.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
      o.db = std::stoi(db);
    }
  }
  if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    std::string port = hostport.substr(colon + 1);
    hostport = hostport.substr(0, colon);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    o.port = std::stoi(port);
    if (o.port < 1 || o.port > 65535) return std::nullopt;
  }
  if (hostport.empty()) return std::nullopt;
  o.host = hostport;
  return o;
}

asio::awaitable<RedisReply> RedisClient::command(std::vector<std::string> args) {
  // Runs on the strand; the caller resumes on its own executor. Not a coroutine itself: GCC 12
  // destroys a coroutine parameter moved into a lambda capture twice.
  return asio::co_spawn(
      impl_->strand,
      [impl = impl_, a = std::move(args)]() mutable { return impl->run(std::move(a)); },
      asio::use_awaitable);
}

void RedisClient::subscribe(const std::string& channel, MessageHandler handler) {
  asio::post(impl_->strand, [impl = impl_, channel, h = std::move(handler)]() mutable {
    bool fresh = impl->subscriptions.emplace(channel, std::move(h)).second;
    if (fresh && impl->ctx && impl->is_connected) impl->send_subscribe(channel);
  });
}

asio::any_io_executor RedisClient::executor() const {
  return impl_->strand;
}

bool RedisClient::connected() const {
  return impl_->is_connected;
}

std::uint64_t RedisClient::connects() const {
  return impl_->connect_count;
}

}  // namespace hype::cluster
