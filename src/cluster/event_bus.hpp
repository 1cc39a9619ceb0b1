// EventBus: how domain services tell gateways what happened. A single node uses the
// in-process LocalEventBus; a cluster uses a Redis-backed one behind the same interface, so
// an event carries everything a gateway needs to pick receivers: its guild and the
// permission a receiver must hold there, or an explicit list of users.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/ids.hpp"

namespace hype::cluster {

struct Event {
  std::string type;                        // dispatch name, e.g. "MESSAGE_CREATE"
  Id guild_id = 0;                         // receivers are members of this guild...
  std::uint64_t required_permissions = 0;  // ...holding these permission bits there
  std::vector<Id> user_ids;                // if non-empty: exactly these users instead
  std::string data;                        // serialized JSON payload ("d")
  // Membership and role events: the user whose access changed (gateways refresh their
  // permission cache for that user's sessions, or for the whole guild when 0).
  // VOICE_STATE_UPDATE: the user whose voice state it is (the SFU re-checks their sessions).
  Id subject_user_id = 0;
};

class EventBus {
 public:
  using Handler = std::function<void(const Event&)>;
  virtual ~EventBus() = default;
  // Delivers to every subscriber of every node. Handlers must not block: they are called on
  // the publisher's thread (local) or the bus's I/O thread (Redis).
  virtual void publish(const Event& e) = 0;
  virtual int subscribe(Handler h) = 0;
  virtual void unsubscribe(int id) = 0;
};

std::unique_ptr<EventBus> make_local_event_bus();

}  // namespace hype::cluster
