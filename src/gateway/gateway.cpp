#include "gateway/gateway.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <algorithm>

#include "chat/permissions.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "gateway/gateway_internal.hpp"
#include "net/ws_envelope.hpp"

namespace hype::gateway {

namespace asio = boost::asio;
namespace json = boost::json;

std::string make_dispatch(const std::string& type, std::uint64_t seq, const std::string& d_json,
                          const std::string& cursor) {
  std::string f;
  f.reserve(d_json.size() + type.size() + cursor.size() + 56);
  f += "{\"op\":\"dispatch\",\"t\":\"";
  f += type;
  f += "\",\"s\":";
  f += std::to_string(seq);
  if (!cursor.empty()) {  // a stream id: digits and one '-', nothing to escape
    f += ",\"c\":\"";
    f += cursor;
    f += '"';
  }
  f += ",\"d\":";
  f += d_json;
  f += '}';
  return f;
}

void Gateway::Conn::on_message(std::string_view text, bool is_text) {
  net::WsFrameTicket done(ws);  // the socket reads on as frames are handled, not faster
  auto g = gw.lock();
  if (!g) return;
  if (!is_text) {
    asio::post(g->strand_, [self = shared_from_this()] {
      self->close(kDecodeError, "binary frames are not supported");
    });
    return;
  }
  asio::post(g->strand_, [g, self = shared_from_this(), t = std::string(text),
                          done = std::move(done)]() mutable { g->on_message(self, std::move(t)); });
}

void Gateway::Conn::on_close() {
  auto g = gw.lock();
  if (!g) return;
  asio::post(g->strand_, [g, self = shared_from_this()] { g->on_closed(self); });
}

Gateway::Gateway(asio::any_io_executor ex, GatewayDeps deps)
    : d_(deps),
      strand_(asio::make_strand(ex)),
      sweeper_(strand_),
      connections_(deps.metrics.gauge("gateway_connections", "open gateway connections").get()),
      sessions_gauge_(
          deps.metrics.gauge("gateway_sessions", "gateway sessions, attached or resumable").get()),
      dispatched_(
          deps.metrics
              .counter("gateway_events_dispatched_total", "dispatch frames queued to clients")
              .get()),
      slow_closed_(deps.metrics
                       .counter("gateway_slow_consumer_closed_total",
                                "connections closed because their send queue overflowed")
                       .get()) {}

Gateway::~Gateway() = default;

void Gateway::start() {
  std::weak_ptr<Gateway> weak = shared_from_this();
  bus_sub_ = d_.bus.subscribe([weak](const cluster::Event& e) {
    if (auto g = weak.lock()) asio::post(g->strand_, [g, e] { g->dispatch_event(e); });
  });
  asio::post(strand_, [self = shared_from_this()] { self->sweep(); });
}

void Gateway::stop() {
  d_.bus.unsubscribe(bus_sub_);
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->sweeper_.cancel();
    for (auto& c : self->conns_) c->close(1001, "server shutting down");
  });
}

std::shared_ptr<net::WsListener> Gateway::open(std::shared_ptr<net::WsConnection> ws,
                                               const net::HttpRequest& req) {
  if (req.path != "/gateway") return nullptr;
  auto c = std::make_shared<Conn>();
  c->gw = weak_from_this();
  c->ws = std::move(ws);
  c->opened_ms = steady_ms();
  c->last_heartbeat_ms = c->opened_ms;
  asio::post(strand_, [self = shared_from_this(), c] {
    if (self->stopped_) {
      c->close(1001, "server shutting down");
      return;
    }
    c->id = ++self->next_conn_;
    self->conns_.insert(c);
    self->connections_.set(static_cast<double>(self->conns_.size()));
    json::object hello{{"heartbeat_interval", self->d_.config.gateway.heartbeat_interval}};
    c->ws->send(net::frame("hello", hello));
  });
  return c;
}

void Gateway::send_error(Conn& c, const std::string& code, const std::string& message) {
  c.ws->send(net::error_frame(code, message));
}

void Gateway::on_message(const std::shared_ptr<Conn>& c, std::string text) {
  // The frame budget (4008), the identify deadline (4003) and the send queue bound (4010)
  // are enforced for every WebSocket endpoint in net/websocket_session.cpp.
  if (c->closed) return;
  auto env = net::parse_envelope(text);
  if (!env) {
    c->close(kDecodeError, env.error().message);
    return;
  }
  const std::string& name = env->op;
  const json::value* d = env->d();
  if (name == "heartbeat") {
    c->last_heartbeat_ms = steady_ms();
    c->ws->send(net::frame("heartbeat_ack"));
    return;
  }
  if (name == "identify" || name == "resume") {
    if (c->session || c->identifying) {
      c->close(kAlreadyAuthenticated, "already identified");
      return;
    }
    if (!d || !d->is_object()) {
      c->close(kDecodeError, name + " needs an object d");
      return;
    }
    c->identifying = true;
    if (name == "resume") {
      handle_resume(c, d->as_object());
      return;
    }
    if (!d_.config.limits.enabled) {
      handle_identify(c, d->as_object());
      return;
    }
    // Each identify loads a READY from the database: budgeted per address here and per user
    // once the token names them (handle_identify). The bucket is shared state: awaited.
    spawn_on(strand_, "identify budget",
             [self = shared_from_this(), c, key = "gw-identify-ip:" + c->ws->remote_ip(),
              dv = *d]() -> asio::awaitable<void> {
               auto r = co_await self->d_.coord.async_take(key, self->d_.config.limits.identify, 1);
               if (!r.allowed) {
                 c->close(kRateLimited, "too many identifies from this address");
                 co_return;
               }
               self->handle_identify(c, dv.as_object());
             });
    return;
  }
  if (!c->session) {
    c->close(kNotAuthenticated, "identify first");
    return;
  }
  handle_op(c, name, d);
}

void Gateway::on_closed(const std::shared_ptr<Conn>& c) {
  c->closed = true;
  conns_.erase(c);
  // An identify still loading READY keeps recording: its session stays resumable with what
  // happened meanwhile (finish_identify stops it, as do identify's failures).
  connections_.set(static_cast<double>(conns_.size()));
  if (auto s = c->session) {
    if (s->conn == c) {
      s->conn.reset();
      s->detached_at_ms = steady_ms();
      // A client that says goodbye (logout, tab closed) will not resume: end it now, so
      // presence and voice update at once instead of after the resume window.
      int code = c->peer_close_code;
      if (code == 1000 || code == 1001 || code == 1005) destroy_session(s->id);
    }
  }
}

void Gateway::attach_guild(Session& s, Id guild, std::uint64_t perms) {
  s.perms[guild] = perms;
  by_guild_[guild].insert(&s);
}

void Gateway::detach_guild(Session& s, Id guild) {
  s.perms.erase(guild);
  auto it = by_guild_.find(guild);
  if (it == by_guild_.end()) return;
  it->second.erase(&s);
  if (it->second.empty()) by_guild_.erase(it);
}

void Gateway::deliver(Session& s, const std::string& type, const std::string& data) {
  deliver(s, std::make_shared<const Payload>(Payload{type, data}));
}

void Gateway::deliver(Session& s, const std::shared_ptr<const Payload>& p) {
  std::uint64_t seq = ++s.seq;
  s.replay.emplace_back(seq, p);
  while (s.replay.size() > static_cast<std::size_t>(d_.config.gateway.replay_buffer))
    s.replay.pop_front();
  if (!s.conn || s.conn->closed) return;
  if (s.conn->ws->queued() >= static_cast<std::size_t>(d_.config.gateway.max_send_queue)) {
    // Never let one slow reader grow our memory: cut it off; it may resume later.
    slow_closed_.inc();
    spdlog::warn("gateway slow consumer closed user={} session={}", s.user, s.id);
    auto conn = s.conn;
    s.conn.reset();
    s.detached_at_ms = steady_ms();
    conn->close(kSlowConsumer, "send queue overflow: reading too slowly");
    return;
  }
  dispatched_.inc();
  s.conn->ws->send(make_dispatch(p->type, seq, p->data, p->cursor));
}

bool Gateway::receives(const Session& s, const cluster::Event& e) const {
  if (!e.user_ids.empty())
    return std::find(e.user_ids.begin(), e.user_ids.end(), s.user) != e.user_ids.end();
  if (!e.guild_id) return false;
  auto p = s.perms.find(e.guild_id);
  return p != s.perms.end() && chat::has_permissions(p->second, e.required_permissions);
}

void Gateway::dispatch_event(const cluster::Event& e) {
  if (stopped_) return;
  if (!recording_.empty()) {
    // Bounded like a session's replay buffer: past it, that identify starts over.
    auto limit = static_cast<std::size_t>(d_.config.gateway.replay_buffer);
    auto copy = std::make_shared<const cluster::Event>(e);
    for (auto& c : recording_) {
      if (c->recorded.size() < limit)
        c->recorded.push_back(copy);
      else
        c->record_overflow = true;
    }
  }
  // Collect receivers first: delivering can change the indexes (slow consumers).
  std::vector<Session*> targets;
  if (!e.user_ids.empty()) {
    for (Id u : e.user_ids) {
      auto it = by_user_.find(u);
      if (it != by_user_.end()) targets.insert(targets.end(), it->second.begin(), it->second.end());
    }
  } else if (e.guild_id) {
    auto it = by_guild_.find(e.guild_id);
    if (it != by_guild_.end())
      for (Session* s : it->second) {
        auto p = s->perms.find(e.guild_id);
        if (p != s->perms.end() && chat::has_permissions(p->second, e.required_permissions))
          targets.push_back(s);
      }
  }

  using ET = cluster::EventType;
  // The receiver just gained this guild: the event carries their permissions there.
  if (e.type == ET::guild_create && e.guild_id)
    for (Session* s : targets) attach_guild(*s, e.guild_id, e.subject_permissions);

  if (!targets.empty()) {
    auto payload =
        std::make_shared<const Payload>(Payload{event_type_name(e.type), e.data, e.cursor});
    for (Session* s : targets) {
      if (s->catching_up)
        s->held.push_back(payload);  // after the replay (catch_up)
      else
        deliver(*s, payload);
    }
  }

  // What the delivered event changes in the permission cache.
  switch (e.type) {
    case ET::guild_delete:
      for (Session* s : targets) detach_guild(*s, e.guild_id);
      break;
    case ET::guild_member_remove:
      if (auto it = by_user_.find(e.subject_user_id); e.subject_user_id && it != by_user_.end())
        for (Session* s : std::vector<Session*>(it->second.begin(), it->second.end()))
          detach_guild(*s, e.guild_id);
      break;
    case ET::guild_update:
    case ET::guild_member_update:
    case ET::guild_role_create:
    case ET::guild_role_update:
    case ET::guild_role_delete:
      refresh_permissions(e.guild_id, e.subject_user_id);
      break;
    case ET::guild_create:  // attached above, before delivery
    case ET::guild_member_add:
    case ET::channel_create:
    case ET::channel_update:
    case ET::channel_delete:
    case ET::message_create:
    case ET::message_update:
    case ET::message_delete:
    case ET::typing_start:
    case ET::presence_update:
    case ET::voice_state_update:
    case ET::voice_mode_update:
    case ET::stream_update:
    case ET::voice_server_update:
    case ET::voice_signal:
      break;
  }
}

void Gateway::refresh_permissions(Id guild, Id user) {
  std::vector<Id> users;
  if (user) {
    users.push_back(user);
  } else {
    auto it = by_guild_.find(guild);
    if (it == by_guild_.end()) return;
    for (Session* s : it->second) users.push_back(s->user);
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
  }
  auto self = shared_from_this();
  asio::post(d_.pool.executor(), [self, guild, users] {
    std::vector<std::pair<Id, std::optional<std::uint64_t>>> result;
    for (Id u : users) {
      try {
        result.emplace_back(u, self->d_.chat.permissions_for(u, guild));
      } catch (const std::exception& ex) {
        spdlog::warn("permission refresh failed guild={} user={}: {}", guild, u, ex.what());
      }
    }
    asio::post(self->strand_, [self, guild, result] {
      for (auto& [u, perms] : result) {
        auto it = self->by_user_.find(u);
        if (it == self->by_user_.end()) continue;
        for (Session* s : it->second) {
          if (perms)
            self->attach_guild(*s, guild, *perms);
          else
            self->detach_guild(*s, guild);
        }
      }
    });
  });
}

void Gateway::destroy_session(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  auto s = it->second;
  for (auto& [g, p] : std::unordered_map<Id, std::uint64_t>(s->perms)) detach_guild(*s, g);
  auto u = by_user_.find(s->user);
  if (u != by_user_.end()) {
    u->second.erase(s.get());
    if (u->second.empty()) by_user_.erase(u);
  }
  sessions_.erase(it);
  sessions_gauge_.set(static_cast<double>(sessions_.size()));
  Id user = s->user;
  spawn_on(strand_, "presence disconnect",
           [self = shared_from_this(), user]() -> asio::awaitable<void> {
             if (co_await self->d_.coord.async_presence_disconnect(user) != 0) co_return;
             asio::post(self->d_.pool.executor(), [self, user] {
               try {
                 self->d_.voice.leave_any(user);
                 self->publish_presence(user, "offline");
               } catch (const std::exception& ex) {
                 spdlog::warn("session cleanup failed user={}: {}", user, ex.what());
               }
             });
           });
}

bool Gateway::make_session_room(Id user) {
  auto it = by_user_.find(user);
  if (it == by_user_.end()) return true;
  auto limit = static_cast<std::size_t>(d_.config.gateway.max_sessions_per_user);
  if (it->second.size() < limit) return true;
  std::vector<std::pair<std::int64_t, std::string>> detached;
  for (Session* s : it->second)
    if (!s->conn) detached.emplace_back(s->detached_at_ms, s->id);
  std::sort(detached.begin(), detached.end());
  std::size_t have = it->second.size();
  for (auto& [at, id] : detached) {
    if (have < limit) break;
    destroy_session(id);  // may erase by_user_[user]: do not touch `it` after this
    --have;
  }
  return have < limit;
}

void Gateway::sweep() {
  if (stopped_) return;
  std::int64_t now = steady_ms();
  const auto& gc = d_.config.gateway;
  std::int64_t hb_limit = gc.heartbeat_interval * 3 / 2 + 2000;
  for (auto& c : std::vector<std::shared_ptr<Conn>>(conns_.begin(), conns_.end())) {
    if (c->closed) continue;
    if (now - c->last_heartbeat_ms > hb_limit) c->close(kHeartbeatTimeout, "no heartbeat");
  }
  std::vector<std::string> expired;
  for (auto& [id, s] : sessions_) {
    if (s->conn || !s->detached_at_ms) continue;
    if (now - s->detached_at_ms > static_cast<std::int64_t>(gc.resume_window) * 1000) {
      expired.push_back(id);
    } else if (!s->voice_checked && now - s->detached_at_ms > 15000) {
      // Gone 15 s without resuming: free the voice seat, other peers stop waiting for it.
      s->voice_checked = true;
      bool attached = false;
      for (Session* o : by_user_[s->user]) attached = attached || o->conn != nullptr;
      if (!attached) {
        Id user = s->user;
        auto self = shared_from_this();
        asio::post(d_.pool.executor(), [self, user] {
          try {
            self->d_.voice.leave_any(user);
          } catch (const std::exception&) {
          }
        });
      }
    }
  }
  for (auto& id : expired) destroy_session(id);
  sweeper_.expires_after(std::chrono::seconds(1));
  sweeper_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->sweep();
  });
}

void Gateway::publish_presence(Id user, const std::string& status) {
  for (Id g : d_.chat.user_guild_ids(user))
    d_.chat.publish(
        {.type = cluster::EventType::presence_update, .guild_id = g, .subject_user_id = user},
        chat::Presence{user, status});
}

}  // namespace hype::gateway
