// EventLog: the durable, replayable record of what happened in voice, for consumers that must
// see every event (analytics), unlike the EventBus (fan-out to connected clients, nothing kept).
// Producers append; each consumer group reads and acknowledges. Delivery is at least once: an
// event read but not acknowledged (the consumer died first) is read again, so consumers are
// idempotent by event id (a snowflake chosen by the producer, so a retried append keeps it).
//
// Backends behind this interface: single node, an outbox table in the store (voice/
// store_event_log.hpp: durable on return, so a consumer killed and restarted loses nothing);
// cluster, a Redis Stream (`hype:events:voice`, XADD with MAXLEN ~, one consumer group per
// consuming role, XREADGROUP + XACK, XAUTOCLAIM of a dead consumer's pending entries);
// tests, make_memory_event_log() (not durable).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.hpp"

namespace hype::cluster {

enum class VoiceEventType {
  join,           // user_id joined channel_id (mode: the channel's transport after the join)
  leave,          // user_id left channel_id after duration_ms (moved, kicked, disconnected too)
  mode_switch,    // channel_id switched transport to `mode` (p2p <-> sfu)
  stream_start,   // user_id went live (Go Live) in channel_id
  stream_stop,    // user_id stopped streaming (duration_ms since the start, when known)
  sfu_node_lost,  // node_id stopped serving (withdrawn, or its heartbeat expired in a cluster)
};

const char* voice_event_type_name(VoiceEventType t);
std::optional<VoiceEventType> parse_voice_event_type(std::string_view name);

struct VoiceEvent {
  Id id = 0;  // snowflake: unique, and time ordered per node
  VoiceEventType type = VoiceEventType::join;
  Id guild_id = 0;               // 0 for sfu_node_lost
  Id channel_id = 0;             // 0 for sfu_node_lost
  Id user_id = 0;                // join, leave, stream_*; 0 otherwise
  std::int64_t at = 0;           // unix ms when it happened
  std::int64_t duration_ms = 0;  // leave (and stream_stop when known)
  std::string mode;              // "p2p" | "sfu": the channel's transport at the time
  std::string node_id;           // sfu_node_lost; the channel's SFU node when known
  // Users in the guild's voice channels right after the event (join, leave): lets a consumer
  // keep peak concurrency without state of its own, in any delivery order. -1: unknown.
  int guild_users = -1;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  // Durable when it returns (outbox row committed; XADD acknowledged). Throws on failure.
  virtual void append(const VoiceEvent& e) = 0;
  // Up to `max` events the consumer group `group` has not acknowledged, oldest first. An
  // event read and not acknowledged is delivered again by a later read (at least once).
  virtual std::vector<VoiceEvent> read(const std::string& group, int max) = 0;
  virtual void ack(const std::string& group, const std::vector<Id>& ids) = 0;
};

// In memory, one process, any number of groups: for tests and tools. Not durable.
std::unique_ptr<EventLog> make_memory_event_log();

}  // namespace hype::cluster
