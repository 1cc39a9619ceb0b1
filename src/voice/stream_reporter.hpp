// STREAM_UPDATE from the SFU's stream reports (a stream started or stopped carrying media, or
// its watchers changed). Reads only the Coordinator (the guild comes from the streamer's voice
// state) and writes only the EventBus, so an SFU-only node publishes it without the database.
//
// The SFU reports on its signaling strand, which must never wait: StreamReporter queues each
// report and publishes from a coroutine on the node's event loop. Reports are published one at
// a time in the order they came: every STREAM_UPDATE carries the stream's whole state (live,
// all its viewers), so clients keep the last one they got, and two reports published on two
// event-loop threads (or with the Coordinator's reply to the later one first) would leave
// them with a stale one.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <vector>

#include "chat/views.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"

namespace hype::voice {

// Publishes STREAM_UPDATE {guild_id, channel_id, user_id, live, viewer_ids, viewer_count} for
// `user`'s stream in `channel` to the members who see the channel; the guild is the user's
// voice state's. Nothing when the user is no longer in that channel (their leave, or the
// VOICE_STATE_UPDATE of their move, already told everyone). True when it published.
cluster::Task<bool> publish_stream_update(cluster::Coordinator& coord, cluster::EventBus& bus,
                                          const chat::EventEncoder& encode, Id channel, Id user,
                                          bool live, std::vector<Id> viewers);

class StreamReporter {
 public:
  // Publishes on `ex` (the node's event loop). The Coordinator and the bus must outlive the
  // reporter's last publication: the app's Node owns them.
  StreamReporter(boost::asio::any_io_executor ex, cluster::Coordinator& coord,
                 cluster::EventBus& bus, chat::EventEncoder encode);
  ~StreamReporter();
  StreamReporter(const StreamReporter&) = delete;
  StreamReporter& operator=(const StreamReporter&) = delete;

  // Never blocks: queues the report (replacing a queued, not yet published one for the same
  // stream, which it supersedes) and returns. Safe from any thread.
  void report(Id channel, Id user, bool live, std::vector<Id> viewers);

 private:
  struct Queue;
  // The one coroutine publishing the queue, until it is empty.
  static cluster::Task<void> drain(std::shared_ptr<Queue> q);
  std::shared_ptr<Queue> queue_;  // shared with the draining coroutine
};

}  // namespace hype::voice
