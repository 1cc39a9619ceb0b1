// The single-node backend of cluster::EventLog: an outbox table in the store (voice_events).
// append commits one row before it returns, so an event survives a crash of the process the
// moment the call that caused it has returned; read lists the oldest rows, ack deletes them.
// Order of commit and order of ids may differ between threads, which is why consumers dedupe
// by event id (analytics_processed) rather than keep a cursor. One consumer group only
// (`analytics`): a second group would need its own acknowledgement table, as the Redis
// backend has consumer groups.
#pragma once

#include <memory>

#include "cluster/event_log.hpp"
#include "store/store.hpp"

namespace hype::voice {

inline constexpr const char* kAnalyticsGroup = "analytics";

std::unique_ptr<cluster::EventLog> make_store_event_log(store::Store& store);

}  // namespace hype::voice
