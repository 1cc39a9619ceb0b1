// EventBus: how domain services tell gateways what happened. A single node uses the
// in-process LocalEventBus; a cluster uses a Redis-backed one behind the same interface, so
// an event carries everything a gateway needs to pick receivers: its guild and the
// permission a receiver must hold there, or an explicit list of users.
//
// The header is typed (EventType and the ids consumers act on) so no consumer parses the
// payload to learn what happened; `data` is the payload already serialized for the clients,
// which keeps an Event a flat record that can cross nodes as it is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.hpp"

namespace hype::cluster {

// Every dispatch the bus carries. Consumers switch over it without a default, so a new type
// fails the build (-Werror=switch) until each consumer says what it does with it.
enum class EventType {
  guild_create,
  guild_update,
  guild_delete,
  guild_member_add,
  guild_member_update,
  guild_member_remove,
  guild_role_create,
  guild_role_update,
  guild_role_delete,
  channel_create,
  channel_update,
  channel_delete,
  message_create,
  message_update,
  message_delete,
  typing_start,
  presence_update,
  voice_state_update,
  voice_mode_update,
  stream_update,
  voice_server_update,
  // A P2P call's WebRTC signal from one user to another (user_ids: the target), through the
  // bus so that it reaches the target on whichever gateway node it is connected to.
  voice_signal,
};

// The dispatch name on the wire ("MESSAGE_CREATE"), and back (nullopt for an unknown name).
const char* event_type_name(EventType t);
std::optional<EventType> parse_event_type(std::string_view name);

struct Event {
  EventType type = EventType::message_create;
  Id guild_id = 0;                         // receivers are members of this guild...
  std::uint64_t required_permissions = 0;  // ...holding these permission bits there
  std::vector<Id> user_ids;                // if non-empty: exactly these users instead
  std::string data;                        // serialized JSON payload ("d")
  // Membership and role events: the user whose access changed (gateways refresh their
  // permission cache for that user's sessions, or for the whole guild when 0).
  // GUILD_CREATE: the user who gained the guild. VOICE_STATE_UPDATE: the user whose voice
  // state it is (the SFU re-checks their sessions).
  Id subject_user_id = 0;
  // CHANNEL_*, MESSAGE_*, TYPING_START, VOICE_*: the channel (for VOICE_STATE_UPDATE the
  // channel joined, 0 on a leave).
  Id channel_id = 0;
  // GUILD_CREATE: the receivers' permission bits in the new guild (the gateway's cache).
  std::uint64_t subject_permissions = 0;
  // Set by a bus on a Redis stream when it delivers: the event's stream entry id ("ms-seq"),
  // one global order for every node. A client that keeps the last one can resume on any node
  // (EventBus::replay). Empty on a single node (LocalEventBus) and when publishing.
  std::string cursor;
};

// Orders two stream cursors ("ms-seq"); nullopt when either is malformed.
std::optional<int> compare_cursors(std::string_view a, std::string_view b);

class EventBus {
 public:
  using Handler = std::function<void(const Event&)>;
  virtual ~EventBus() = default;
  // Delivers to every subscriber of every node. Handlers must not block: they are called on
  // the publisher's thread (local) or the bus's I/O thread (Redis).
  virtual void publish(const Event& e) = 0;
  virtual int subscribe(Handler h) = 0;
  virtual void unsubscribe(int id) = 0;

  // Replay, for a bus that keeps a bounded history (Redis stream). The default is a bus
  // without one (single node): position() is empty and replay answers nullopt.
  //
  // The cursor of the last event delivered to this node's subscribers; empty before the
  // first or without history. Events after it reach the subscribers after this call returns.
  virtual std::string position() const { return {}; }
  // Whether the bus delivers (a stream's reader knows where the stream ends: until then an
  // identify could not be given a cursor). /readyz answers 503 before.
  virtual bool ready() const { return true; }
  // Calls `done` (on a bus thread) with the events after `after` (exclusive) up to `until`
  // (inclusive), in order, each with its cursor; nullopt when `after` is malformed, newer
  // than the history, or older than its first entry (trimmed: events may be missing), or on
  // a Redis failure. The caller then tells its client to start over.
  using ReplayDone = std::function<void(std::optional<std::vector<Event>>)>;
  // By value: implementations keep them for an asynchronous replay.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual void replay(std::string /*after*/, std::string /*until*/, ReplayDone done) {
    std::move(done)(std::nullopt);
  }
};

std::unique_ptr<EventBus> make_local_event_bus();

}  // namespace hype::cluster
