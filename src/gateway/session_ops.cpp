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
  // W3C trace context: identify (loading READY) as a span continuing the client's traceparent.
  std::optional<telemetry::Span> span;
  if (d_.tracer && d_.tracer->enabled())
    span = telemetry::start_span("gateway.identify",
                                 telemetry::TraceContext::parse(string_field(d, "traceparent")), 2);
  auto self = shared_from_this();
  asio::post(d_.pool.executor(), [self, c, token, span = std::move(span)]() mutable {
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
    try {
      user = self->d_.auth.authenticate(token);
      if (self->d_.config.limits.enabled &&
          !self->d_.coord
               .take("gw-identify-user:" + std::to_string(user), self->d_.config.limits.identify)
               .allowed) {
        asio::post(self->strand_,
                   [c] { c->close(kRateLimited, "too many identifies for this user"); });
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
      asio::post(self->strand_, [c, code = e.code()] {
        c->close(kAuthFailed, code == "token_expired" ? "token expired" : "authentication failed");
      });
      return;
    } catch (const std::exception& e) {
      spdlog::error("identify failed: {}", e.what());
      asio::post(self->strand_, [c] { c->close(kUnknownError, "internal error"); });
      return;
    }
    finish.ok = true;
    bool first = self->d_.coord.presence_connect(user) == 1;
    asio::post(self->strand_,
               [self, c, user, r = std::move(ready), p = std::move(perms), first]() mutable {
                 self->finish_identify(c, user, std::move(r), std::move(p), first);
               });
  });
}

void Gateway::finish_identify(const std::shared_ptr<Conn>& c, Id user, json::object ready,
                              std::vector<std::pair<Id, std::uint64_t>> perms, bool first_session) {
  c->identifying = false;
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
  deliver(*s, "READY", json::serialize(ready));
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
  Id user = 0;
  try {
    user = d_.auth.authenticate(token);
  } catch (const ApiError& e) {
    c->close(kAuthFailed, e.code() == "token_expired" ? "token expired" : "authentication failed");
    return;
  }
  auto it = sessions_.find(sid);
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
    c->ws->send(make_dispatch(payload->type, n, payload->data));
    ++replayed;
  }
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
