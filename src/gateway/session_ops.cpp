// Identify, resume and the client operations of an identified session.
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/random.hpp"
#include "gateway/gateway.hpp"
#include "gateway/gateway_internal.hpp"
#include "net/ws_envelope.hpp"
#include "wire/objects.hpp"

namespace hype::gateway {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {
std::string string_field(const json::object& d, const char* name) {
  auto* v = d.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
}  // namespace

void Gateway::handle_identify(const std::shared_ptr<Conn>& c, const json::object& d) {
  std::string token = string_field(d, "token");
  // READY race: an event published while the snapshot is read must still reach the session.
  // Without a stream position (single node, pub/sub), every event dispatched from now until
  // finish_identify is recorded, and those the user may see are delivered after READY. This
  // runs on the strand before the snapshot is read, so no event slips between.
  bool record = d_.bus.position().empty();
  if (record) {
    c->recorded.clear();
    c->record_overflow = false;
    recording_.insert(c);
  }
  // W3C trace context: identify (loading READY) as a span continuing the client's traceparent.
  std::optional<telemetry::Span> span;
  if (d_.tracer && d_.tracer->enabled())
    span = telemetry::start_span("gateway.identify",
                                 telemetry::TraceContext::parse(string_field(d, "traceparent")), 2);
  auto self = shared_from_this();
  asio::post(d_.pool.executor(), [self, c, token, span = std::move(span), record]() mutable {
    // Recorded however identify ends (an error status when it failed).
    struct Finish {
      std::optional<telemetry::Span>& span;
      telemetry::Tracer* tracer = nullptr;
      bool ok = false;
      ~Finish() {
        if (!span) return;
        span->error = !ok;
        tracer->record(std::move(*span));
      }
    } finish{span, self->d_.tracer};
    Id user = 0;
    json::object ready;
    std::vector<std::pair<Id, std::uint64_t>> perms;
    // Where the event stream stands before the snapshot is read (cluster on a stream; empty
    // otherwise): events after it are replayed after READY, so none falls between the two.
    std::string snapshot_cursor = record ? std::string() : self->d_.bus.position();
    try {
      user = self->d_.auth.authenticate(token);
      if (self->d_.config.limits.enabled &&
          !self->d_.coord
               .take("gw-identify-user:" + std::to_string(user), self->d_.config.limits.identify)
               .allowed) {
        asio::post(self->strand_, [self, c] {
          self->recording_.erase(c);
          c->close(kRateLimited, "too many identifies for this user");
        });
        return;
      }
      auto u = self->d_.auth.me(user);
      json::array guilds, presences;
      std::unordered_set<Id> seen;
      std::vector<Id> members;  // every member once, in order of appearance
      for (Id g : self->d_.chat.user_guild_ids(user)) {
        chat::GuildSnapshot snap;
        try {
          snap = self->d_.chat.guild_snapshot(user, g);
        } catch (const ApiError&) {
          continue;  // left the guild meanwhile
        }
        perms.emplace_back(g, snap.view.my_permissions);
        for (auto& m : snap.members)
          if (seen.insert(m.user_id).second) members.push_back(m.user_id);
        guilds.push_back(wire::guild_snapshot_json(snap));
      }
      // One coordinator call for every member (the user counts as online: they are arriving).
      auto online = self->d_.coord.online(members);
      std::unordered_set<Id> on(online.begin(), online.end());
      for (Id uid : members)
        if (on.count(uid) || uid == user) presences.push_back(wire::presence_json(uid, "online"));
      ready["user"] = wire::user_json(u.id, u.username);
      ready["guilds"] = std::move(guilds);
      ready["presences"] = std::move(presences);
    } catch (const ApiError& e) {
      asio::post(self->strand_, [self, c, code = e.code()] {
        self->recording_.erase(c);
        c->close(kAuthFailed, code == "token_expired" ? "token expired" : "authentication failed");
      });
      return;
    } catch (const std::exception& e) {
      spdlog::error("identify failed: {}", e.what());
      asio::post(self->strand_, [self, c] {
        self->recording_.erase(c);
        c->close(kUnknownError, "internal error");
      });
      return;
    }
    finish.ok = true;
    bool first = self->d_.coord.presence_connect(user) == 1;
    asio::post(self->strand_, [self, c, user, r = std::move(ready), p = std::move(perms), first,
                               sc = std::move(snapshot_cursor)]() mutable {
      self->finish_identify(c, user, std::move(r), p, first, sc);
    });
  });
}

void Gateway::finish_identify(const std::shared_ptr<Conn>& c, Id user, json::object ready,
                              const std::vector<std::pair<Id, std::uint64_t>>& perms,
                              bool first_session, const std::string& snapshot_cursor) {
  c->identifying = false;
  bool recorded = recording_.erase(c) > 0;
  std::vector<std::shared_ptr<const cluster::Event>> missed;
  missed.swap(c->recorded);
  if (recorded && c->record_overflow) {
    spawn_on(strand_, "presence undo",
             [self = shared_from_this(), user]() -> asio::awaitable<void> {
               co_await self->d_.coord.async_presence_disconnect(user);
             });
    c->close(kUnknownError, "too many events while loading READY; identify again");
    return;
  }
  if (!make_session_room(user)) {
    // Every session of this user is attached: refuse the newest rather than cut off one in use.
    // Undo handle_identify's presence_connect; the attached sessions keep the user online.
    spawn_on(strand_, "presence undo",
             [self = shared_from_this(), user]() -> asio::awaitable<void> {
               co_await self->d_.coord.async_presence_disconnect(user);
             });
    c->close(kSessionLimit, "too many sessions for this user");
    return;
  }
  auto s = std::make_shared<Session>();
  s->id = random_token(16);
  s->user = user;
  sessions_[s->id] = s;
  sessions_gauge_.set(static_cast<double>(sessions_.size()));
  by_user_[user].insert(s.get());
  for (auto& [g, p] : perms) attach_guild(*s, g, p);
  if (c->closed) {
    // The socket went away while we loaded READY: keep the session resumable.
    s->detached_at_ms = steady_ms();
  } else {
    s->conn = c;
    c->session = s;
    c->ws->set_authenticated();
  }
  ready["session_id"] = s->id;
  // READY carries the snapshot's cursor: a client that gets no event before its node dies can
  // still resume elsewhere. Bus events from now on wait until the ones since the snapshot are
  // replayed (catch_up).
  s->catching_up = !snapshot_cursor.empty();
  deliver(*s, std::make_shared<const Payload>(
                  Payload{"READY", json::serialize(ready), snapshot_cursor}));
  if (s->catching_up) catch_up(s, snapshot_cursor, false);
  for (auto& e : missed) replay_one(*s, *e);  // may repeat what READY has: upserts by id
  if (first_session) {
    auto self = shared_from_this();
    asio::post(d_.pool.executor(), [self, user] {
      try {
        self->publish_presence(user, "online");
      } catch (const std::exception&) {
      }
    });
  }
}

void Gateway::handle_resume(const std::shared_ptr<Conn>& c, const json::object& d) {
  c->identifying = false;
  std::string token = string_field(d, "token");
  std::string sid = string_field(d, "session_id");
  const json::value* seqv = d.if_contains("seq");
  std::int64_t seq = seqv && seqv->is_int64() ? seqv->as_int64() : -1;
  std::string cursor = string_field(d, "cursor");
  Id user = 0;
  try {
    user = d_.auth.authenticate(token);
  } catch (const ApiError& e) {
    c->close(kAuthFailed, e.code() == "token_expired" ? "token expired" : "authentication failed");
    return;
  }
  auto it = sessions_.find(sid);
  if (it == sessions_.end() && seq >= 0 && !cursor.empty() && !sid.empty() &&
      !d_.bus.position().empty()) {
    // Not held here (its node died, or the balancer sent the client elsewhere): the stream has
    // what it missed, if it still reaches back to the cursor.
    c->identifying = true;  // a second identify/resume meanwhile is refused (4005)
    resume_elsewhere(c, user, std::move(sid), static_cast<std::uint64_t>(seq), std::move(cursor));
    return;
  }
  if (it == sessions_.end() || it->second->user != user || seq < 0 ||
      static_cast<std::uint64_t>(seq) > it->second->seq) {
    c->close(kInvalidResume, "session cannot be resumed; identify again");
    return;
  }
  auto s = it->second;
  auto& rb = s->replay;
  std::uint64_t from = static_cast<std::uint64_t>(seq) + 1;
  if (from <= s->seq && (rb.empty() || rb.front().first > from)) {
    c->close(kInvalidResume, "too many missed events; identify again");
    destroy_session(sid);
    return;
  }
  if (s->conn && s->conn != c) {
    auto old = s->conn;
    old->session.reset();
    old->close(kUnknownError, "session resumed elsewhere");
  }
  s->conn = c;
  s->detached_at_ms = 0;
  s->voice_checked = false;
  c->session = s;
  c->ws->set_authenticated();
  int replayed = 0;
  for (auto& [n, payload] : rb) {
    if (n < from) continue;
    c->ws->send(make_dispatch(payload->type, n, payload->data, payload->cursor));
    ++replayed;
  }
  deliver(*s, "RESUMED",
          json::serialize(json::object{{"session_id", s->id}, {"replayed", replayed}}));
}

void Gateway::resume_elsewhere(const std::shared_ptr<Conn>& c, Id user, std::string sid,
                               std::uint64_t seq, std::string cursor) {
  // The permission cache and presence, as identify makes them (without the snapshot).
  auto self = shared_from_this();
  asio::post(d_.pool.executor(), [self, c, user, sid = std::move(sid), seq,
                                  cursor = std::move(cursor)]() mutable {
    std::vector<std::pair<Id, std::uint64_t>> perms;
    try {
      for (Id g : self->d_.chat.user_guild_ids(user))
        if (auto p = self->d_.chat.permissions_for(user, g)) perms.emplace_back(g, *p);
    } catch (const std::exception& e) {
      spdlog::error("resume failed: {}", e.what());
      asio::post(self->strand_, [c] { c->close(kUnknownError, "internal error"); });
      return;
    }
    bool first = self->d_.coord.presence_connect(user) == 1;
    asio::post(self->strand_, [self, c, user, sid = std::move(sid), seq, cursor = std::move(cursor),
                               perms = std::move(perms), first]() mutable {
      self->start_resumed_session(c, user, std::move(sid), seq, std::move(cursor), perms, first);
    });
  });
}

void Gateway::start_resumed_session(const std::shared_ptr<Conn>& c, Id user, std::string sid,
                                    std::uint64_t seq, std::string cursor,
                                    const std::vector<std::pair<Id, std::uint64_t>>& perms,
                                    bool first_session) {
  c->identifying = false;
  // The session id is only a label here: the token authenticated the user, and the stream,
  // not a session registry, holds what they missed. A second resume of the same id that got
  // here first wins; this one identifies again.
  if (sessions_.count(sid) || !make_session_room(user)) {
    spawn_on(strand_, "presence undo",
             [self = shared_from_this(), user]() -> asio::awaitable<void> {
               co_await self->d_.coord.async_presence_disconnect(user);
             });
    c->close(kInvalidResume, "session cannot be resumed; identify again");
    return;
  }
  auto s = std::make_shared<Session>();
  s->id = std::move(sid);
  s->user = user;
  s->seq = seq;  // numbering continues from what the client has
  s->catching_up = true;
  sessions_[s->id] = s;
  sessions_gauge_.set(static_cast<double>(sessions_.size()));
  by_user_[user].insert(s.get());
  for (auto& [g, p] : perms) attach_guild(*s, g, p);
  if (c->closed) {
    s->detached_at_ms = steady_ms();
  } else {
    s->conn = c;
    c->session = s;
    c->ws->set_authenticated();
  }
  catch_up(s, std::move(cursor), true);
  if (first_session) {
    auto self = shared_from_this();
    asio::post(d_.pool.executor(), [self, user] {
      try {
        self->publish_presence(user, "online");
      } catch (const std::exception&) {
      }
    });
  }
}

void Gateway::catch_up(const std::shared_ptr<Session>& s, std::string after, bool resumed) {
  // Every event after `until` reaches dispatch_event after this point, so it is held.
  std::string until = d_.bus.position();
  std::weak_ptr<Gateway> weak = weak_from_this();
  std::string after_copy = after;
  d_.bus.replay(std::move(after_copy), until,
                [weak, s, after = std::move(after), until,
                 resumed](std::optional<std::vector<cluster::Event>> events) mutable {
                  auto g = weak.lock();
                  if (!g) return;
                  asio::post(g->strand_, [g, s, after = std::move(after), until = std::move(until),
                                          events = std::move(events), resumed]() mutable {
                    if (!events) {
                      // The history no longer reaches the cursor (or Redis failed): a gap the
                      // client must not miss silently. A resume identifies again (4007); an
                      // identify reconnects with its usual backoff (4000: Redis may be down).
                      if (s->conn && resumed)
                        s->conn->close(kInvalidResume, "missed events are gone; identify again");
                      else if (s->conn)
                        s->conn->close(kUnknownError, "events unavailable; reconnect");
                      g->destroy_session(s->id);
                      return;
                    }
                    g->finish_catch_up(s, after, until, *events, resumed);
                  });
                });
}

bool Gateway::replay_one(Session& s, const cluster::Event& e) {
  // The live filter, with the permission cache changes dispatch_event makes for this user
  // (role changes are not replayed: the cache was loaded after them, it is newer).
  using ET = cluster::EventType;
  bool to_me = receives(s, e);
  if (e.type == ET::guild_create && e.guild_id && to_me)
    attach_guild(s, e.guild_id, e.subject_permissions);
  if (to_me)
    deliver(s, std::make_shared<const Payload>(
                   Payload{cluster::event_type_name(e.type), e.data, e.cursor}));
  if (e.type == ET::guild_delete && to_me) detach_guild(s, e.guild_id);
  if (e.type == ET::guild_member_remove && e.subject_user_id == s.user) detach_guild(s, e.guild_id);
  return to_me;
}

void Gateway::finish_catch_up(const std::shared_ptr<Session>& s, const std::string& after,
                              const std::string& until, const std::vector<cluster::Event>& events,
                              bool resumed) {
  auto it = sessions_.find(s->id);
  if (it == sessions_.end() || it->second != s) return;  // ended meanwhile
  s->catching_up = false;
  int replayed = 0;
  for (const cluster::Event& e : events)
    if (replay_one(*s, e)) ++replayed;
  // Held live events the replay already covered (or the client already had) are dropped.
  std::string last = after;
  if (auto o = cluster::compare_cursors(until, after); o && *o > 0) last = until;
  std::vector<std::shared_ptr<const Payload>> held;
  held.swap(s->held);
  for (auto& p : held) {
    auto o = cluster::compare_cursors(p->cursor, last);
    if (o && *o <= 0) continue;
    deliver(*s, p);
  }
  if (resumed)
    deliver(*s, "RESUMED",
            json::serialize(json::object{{"session_id", s->id}, {"replayed", replayed}}));
}

void Gateway::handle_op(const std::shared_ptr<Conn>& c, const std::string& op,
                        const json::value* d) {
  Session& s = *c->session;
  Id user = s.user;
  const json::object* obj = d ? d->if_object() : nullptr;
  auto self = shared_from_this();
  // Runs blocking work on the pool; an ApiError becomes an error op to this connection.
  auto on_pool = [self, c](std::function<void()> work) {
    asio::post(self->d_.pool.executor(), [self, c, work = std::move(work)] {
      try {
        work();
      } catch (const ApiError& e) {
        asio::post(self->strand_, [self, c, code = e.code(), msg = std::string(e.what())] {
          if (!c->closed) self->send_error(*c, code, msg);
        });
      } catch (const std::exception& e) {
        spdlog::error("gateway op failed: {}", e.what());
      }
    });
  };

  if (op == "voice_signal") {
    const json::value* to = obj ? obj->if_contains("to") : nullptr;
    const json::value* payload = obj ? obj->if_contains("payload") : nullptr;
    std::optional<Id> target = net::id_field(to);
    if (!target || !payload) {
      send_error(*c, "invalid_field", "voice_signal needs {to, payload}");
      return;
    }
    if (*target == user) {
      send_error(*c, "not_in_channel", "you and the target are not in the same voice channel");
      return;
    }
    // Voice states are shared state: awaited on the strand. Signals of one connection keep
    // their order (offer before candidates): each coroutine is started in arrival order and
    // a coordinator answers one caller's requests in order.
    spawn_on(
        strand_, "voice_signal",
        [self, c, user, to_user = *target, p = json::value(*payload)]() -> asio::awaitable<void> {
          Id channel = co_await self->d_.voice.async_shared_channel(user, to_user);
          if (c->closed) co_return;
          if (!channel) {
            self->send_error(*c, "not_in_channel",
                             "you and the target are not in the same voice channel");
            co_return;
          }
          json::object out{
              {"from", id_to_string(user)}, {"channel_id", id_to_string(channel)}, {"payload", p}};
          // Through the bus: the target may be connected to another gateway node. One
          // connection's signals keep their order (one publisher, in order, on every bus).
          cluster::Event e;
          e.type = cluster::EventType::voice_signal;
          e.user_ids = {to_user};
          e.channel_id = channel;
          e.data = json::serialize(out);
          self->d_.bus.publish(e);
        });
  } else if (op == "voice_state_update") {
    bool mute = false, deaf = false;
    if (obj) {
      if (auto* m = obj->if_contains("self_mute"); m && m->is_bool()) mute = m->as_bool();
      if (auto* f = obj->if_contains("self_deaf"); f && f->is_bool()) deaf = f->as_bool();
    }
    on_pool([self, user, mute, deaf] { self->d_.voice.update_self(user, mute, deaf); });
  } else if (op == "typing") {
    const json::value* ch = obj ? obj->if_contains("channel_id") : nullptr;
    std::optional<Id> channel = net::id_field(ch);
    if (!channel) {
      send_error(*c, "invalid_field", "typing needs {channel_id}");
      return;
    }
    on_pool([self, user, id = *channel] { self->d_.chat.typing(user, id); });
  } else if (op == "quality") {
    // A P2P call's quality report (docs/protocol.md "Quality reports"); SFU sessions report
    // on /voice. Validated and bounded; a refused one changes nothing.
    telemetry::QualityMetrics* q = d_.quality;
    if (!q) return;
    if (!obj) {
      q->count_rejected();
      send_error(*c, "invalid_report", "quality needs an object");
      return;
    }
    if (!c->report_gate.allow(steady_ms())) {
      q->count_rejected();
      send_error(*c, "rate_limited", "one quality report per 4 s");
      return;
    }
    if (auto r = q->ingest(*obj); !r) send_error(*c, r.error().code, r.error().message);
  } else if (op == "presence_update") {
    std::string status = obj ? string_field(*obj, "status") : "";
    if (status != "online" && status != "idle" && status != "dnd") {
      send_error(*c, "invalid_field", "status must be online, idle or dnd");
      return;
    }
    on_pool([self, user, status] { self->publish_presence(user, status); });
  } else {
    c->close(kUnknownOp, "unknown op");
  }
}

}  // namespace hype::gateway
