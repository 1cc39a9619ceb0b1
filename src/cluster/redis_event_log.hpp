// cluster::EventLog on a Redis Stream (the cluster backend of voice events; event_log.hpp).
//
// - append: XADD <stream> MAXLEN ~ max_len * with one field per VoiceEvent member (the event's
//   own id is a field: consumers deduplicate by it, and a retried append keeps it).
// - read(group, max), for consumer `consumer` of `group` (the group is created at the start of
//   the stream, MKSTREAM, on first use), in this order until `max` events:
//   1. this consumer's own pending entries (read before, not acknowledged: e.g. it crashed
//      between read and ack and came back under the same name), as the memory log re-delivers;
//   2. XAUTOCLAIM of other consumers' entries pending longer than `claim_idle` (a dead node's),
//      a few bounded calls per read, resuming where the last read's scan stopped (per group),
//      so a dead consumer's entries behind many live ones are still reached;
//   3. new entries (XREADGROUP ... >).
// - ack(group, ids): XACK of the stream entries the given event ids were read from. The event
//   id -> stream entry id mapping is a map in this object, filled by read (the event id is a
//   field of the entry, the entry id is Redis's); ids it did not hand out are ignored (a later
//   read delivers those entries again: at least once). When a read sees this consumer's whole
//   pending list, entries no longer in it (claimed by another consumer, trimmed) are forgotten.
//   So ack an event through the same object that read it; after a restart the consumer's old
//   pending entries come back in step 1 and are remembered again.
// An entry that does not decode is acknowledged and skipped (logged), so it cannot wedge the
// group. A group Redis lost (NOGROUP: restarted without persistence) is created again, from
// the start of what the stream now holds. Every call blocks until Redis answers or the client's
// command timeout; a Redis error or outage throws cluster::RedisError (append, read and ack alike;
// the analytics role logs it and polls again on its next tick). The calls are blocking: make them
// from the blocking pool, never from the thread that runs the RedisClient's executor (that would
// wait for itself). That is checked when the executor is a strand over an io_context or thread_pool
// executor (what RedisClient makes of one): std::logic_error instead of a deadlock. Reads of one
// object are serialized (they share the consumer's pending list); append and ack may run
// concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cluster/event_log.hpp"
#include "cluster/redis_client.hpp"

namespace hype::cluster {

struct RedisEventLogOptions {
  std::string stream = "hype:events:voice";
  std::string consumer;             // this node's name in the consumer groups (e.g. "node-3")
  std::size_t max_len = 1'000'000;  // approximate cap of the stream (MAXLEN ~)
  std::chrono::milliseconds claim_idle{60'000};
};

std::unique_ptr<EventLog> make_redis_event_log(RedisClient& client, RedisEventLogOptions opts);

}  // namespace hype::cluster
