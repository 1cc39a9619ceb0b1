// EventBus across nodes on Redis (event_bus.hpp; ARCHITECTURE.md "Cluster"), in one of two
// modes: a bounded Redis stream (options.stream set: what a cluster node uses, so gateway
// clients can resume on any node) or pub/sub (the older mode, described first).
//
// Stream mode (options.stream, e.g. hype:{bus}:stream):
// - publish(e) only queues: the one sender XADDs the same records (field "r") with MAXLEN ~
//   stream_max_len, one EVAL per batch, in order. A batch Redis did not acknowledge stays at
//   the head of the queue and is sent again (pauses up to 2 s): events published while Redis
//   is down are delayed, not lost, up to max_queue (beyond: dropped, counted in
//   publish_failed). Readers drop an event added twice (same origin, incarnation, sequence
//   number). A stream that does not exist gets a genesis entry first: after Redis restarted
//   without its data, cursors of the old stream are older than it and are not replayable.
// - One reader coroutine on the subscriber client (not in pub/sub mode: XREAD BLOCK holds the
//   connection) learns where the stream ends at start, then XREADs from the last entry read
//   and delivers EVERY event, this node's own included, with Event::cursor = its entry id.
//   So every node delivers in the same global order, and local delivery never jumps ahead
//   of the stream (which pub/sub mode does). The price: delivery waits for Redis, and while
//   Redis is down no event is delivered at all, here either (they wait in the queue). After a
//   failure the reader reads on from its last entry: nothing still in the stream is lost (a reader
//   that fell more than stream_max_len behind counts what was trimmed in `gaps`).
// - position() is the id of the last entry delivered; replay(after, until) answers the
//   entries in (after, until] from XRANGE pages on the publisher client, or nullopt when XINFO
//   STREAM shows `after` is newer than anything added or entries after it were deleted or
//   trimmed (the caller then makes its client start over rather than miss them).
//
// Pub/sub mode:
// - publish(e) delivers to this node's subscribers at once, on the caller's thread, exactly as
//   LocalEventBus does: a single node keeps working while Redis is down. It also queues the
//   event for the other nodes and returns; it never blocks (it is called on event-loop threads
//   and on the blocking pool). One sender coroutine per bus, on the publisher client's strand,
//   empties the queue in order: one PUBLISH for a single event, one EVAL publishing a batch
//   for several, each awaited before the next, so this node's events reach every other node
//   in the order they were published (one connection, one sender: nothing can overtake).
// - Record on the channel (`channel`, default hype:{bus}:events), binary: "HB" 1, then the
//   origin node id, the origin's incarnation (random per bus object, so a restarted node is
//   told apart from one that lost events), its sequence number (1, 2, ... per bus object),
//   the type by name (event_type_name), the ids and permission bits, user_ids and data.
//   Integers are LEB128 varints, strings and lists are length-prefixed: data may hold any
//   bytes.
// - Receiving (the subscriber client's strand): a record from this bus object itself is
//   skipped (its local subscribers already had it); others are decoded and delivered to the
//   local subscribers there. A record that does not decode (garbage, an unknown type name
//   from a newer node) is counted and logged, rate limited, and dropped.
// - Redis pub/sub is fire and forget: while a node's subscriber is disconnected, or while
//   Redis is down, the events published meanwhile are lost for it (and a publish that fails
//   is not retried). Nothing is replayed; what is lost shows in the counters: publish_failed
//   on the publishing node, gaps (missing sequence numbers per origin, seen when its next
//   event arrives) on the receiving one. Delivery resumes by itself once both clients are
//   connected again (RedisClient reconnects and re-subscribes). Durable events with replay,
//   so a client can resume on any node without missing anything (ARCHITECTURE "Events"), are
//   a follow-up: a bounded Redis stream beside this channel.
// - The two clients must outlive the bus. The subscriber client is this bus's own (RedisClient
//   keeps the first handler of a channel; pub/sub mode allows nothing else on it); the
//   publisher may be shared with other backends. Subscribers' handlers must not block: they
//   run on the publisher's thread (local) or the subscriber client's strand (remote).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cluster/event_bus.hpp"
#include "cluster/redis_client.hpp"

namespace hype::cluster {

struct RedisEventBusOptions {
  std::string channel = "hype:{bus}:events";
  // Non-empty: the bus runs on this bounded Redis stream instead of the channel (see the top).
  std::string stream;
  std::size_t stream_max_len = 10'000;  // XADD MAXLEN ~: the resume window, in events
  // XREAD BLOCK, in ms: keep it under the subscriber client's command_timeout.
  int read_block_ms = 1000;
  std::size_t read_count = 512;   // entries per XREAD
  std::size_t replay_page = 500;  // entries per XRANGE of a replay
  // Events waiting for the sender; more are dropped (counted in publish_failed).
  std::size_t max_queue = 100'000;
  std::size_t max_batch = 256;  // events per EVAL
};

// Counters since the bus was made (monotonic; a metrics exporter reads them).
struct RedisEventBusStats {
  std::uint64_t published = 0;        // events PUBLISHed (Redis acknowledged)
  std::uint64_t publish_failed = 0;   // events not sent: queue full, bus closed; pub/sub mode:
                                      // also Redis down or slow (stream mode sends those again)
  std::uint64_t publish_retried = 0;  // stream mode: events sent again after a failed send
  std::uint64_t received = 0;         // other nodes' events delivered here
  std::uint64_t own_skipped = 0;      // this bus's own events coming back (not delivered again)
  std::uint64_t undecodable = 0;      // records on the channel that did not decode (dropped)
  std::uint64_t gaps = 0;             // other nodes' events this node never received
  std::uint64_t read_failed = 0;      // stream mode: XREADs that failed (Redis down, timeout)
  std::uint64_t duplicates = 0;       // stream mode: events added twice (a retry), dropped
};

class RedisEventBus : public EventBus {
 public:
  virtual RedisEventBusStats stats() const = 0;
};

// `publisher` sends (and answers replays), `subscriber` (a second client) receives; both are
// start()ed by the caller. In stream mode the subscriber client is not put into pub/sub mode
// but must still be this bus's own (its XREAD BLOCK holds the connection). `node_id` names this
// node in the records (logs, per-origin counters).
std::unique_ptr<RedisEventBus> make_redis_event_bus(RedisClient& publisher, RedisClient& subscriber,
                                                    std::string node_id,
                                                    RedisEventBusOptions options = {});

}  // namespace hype::cluster
