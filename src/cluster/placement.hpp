// Placement: which SFU node serves a voice channel. Everyone in a channel must reach the same
// node, so the decision is shared state: LocalPlacement (in memory) when one process runs every
// role, Redis behind this same interface in a cluster (node registry with heartbeats, channel
// -> node records written by compare-and-set).
//
// Each placement carries an epoch that grows with every new decision for the channel. Writes
// that can race (placing, releasing, re-placing after a node failed) name the epoch they saw,
// so a node that comes back from the dead with an old decision cannot overwrite a newer one.
// Failure model: an existing placement keeps being answered from what the caller already holds
// (tokens name the node); a new placement that cannot be decided (Redis down) throws
// PlacementError, a clear error for the one join that needed it, never a wait on media.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cluster/coordinator.hpp"
#include "core/ids.hpp"

namespace hype::cluster {

struct SfuNode {
  std::string id;      // e.g. "node-3"; voice tokens name it
  std::string url;     // ws(s)://host:port/voice
  std::string region;  // empty: no region
  // Load, refreshed by the node's heartbeat (async_announce every second in a cluster).
  int capacity = 0;       // participants it takes at most; 0: no limit
  int participants = 0;   // participants connected now
  bool draining = false;  // takes no new channels
};

struct Placed {
  Id channel_id = 0;
  SfuNode node;
  std::uint64_t epoch = 0;
  // This call moved the channel: it was placed on `moved_from`, which is gone (dead, withdrawn
  // or reported unreachable). Its clients on that node must be told (VOICE_SERVER_UPDATE).
  std::string moved_from;
  bool decided = false;  // this call made a new decision (not the channel's existing one)
};

// The placement could not be decided now (coordination store unreachable); retry later.
class PlacementError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Placement {
 public:
  virtual ~Placement() = default;

  // A node that runs the SFU role offers itself (again: updates its url, region and load; in
  // a cluster this is its heartbeat). True when an operator asked this node to drain
  // (`hype sfu drain`, request_drain): said once, the node then drains as on SIGTERM.
  virtual Task<bool> async_announce(SfuNode node) = 0;
  // The node stops taking channels; its placements are dropped (clients re-place on rejoin).
  virtual Task<void> async_withdraw(std::string node_id) = 0;
  // The channel's node: the existing placement if its node is still there, else a new one
  // with a higher epoch, preferring `region` (regions nearest first, comma-separated: "eu,us"
  // tries eu, then us, then any other). nullopt when no SFU node is known at all
  // (a deployment without the SFU role: voice stays peer to peer).
  // `prefer_node`: a channel with no live placement goes there, or nowhere (nullopt) while that
  // node cannot take it (not registered again yet, draining, full). A client writing back a
  // voice state a reset store lost names the node its call runs on, so the call is not moved.
  virtual Task<std::optional<Placed>> async_place(Id channel_id, std::optional<std::string> region,
                                                  std::string prefer_node = {}) = 0;
  virtual Task<std::optional<Placed>> async_lookup(Id channel_id) = 0;
  // Forgets the channel's placement if it still has `epoch` (compare-and-set); false if a
  // newer decision (or none) is there.
  virtual Task<bool> async_release(Id channel_id, std::uint64_t epoch) = 0;
  // A client lost its connection to `node_id` (the fast failure signal, before its heartbeat
  // is 3 s old): when the node is provably gone (in Redis: the node's own Redis connection is
  // closed, as after kill -9), it leaves the registry now and true is returned; the next
  // place() of its channels moves them. A node that is alive is left alone (false).
  virtual Task<bool> async_report_unreachable(std::string node_id) = 0;
  // Drain: moves the channel off `from_node` (which is leaving) to another node, preferring
  // `region`, with a new epoch (moved_from = from_node). nullopt when the channel is not on
  // that node or no other node can take it. Throws RedisError when Redis is unreachable.
  virtual Task<std::optional<Placed>> async_move(Id channel_id, std::string from_node,
                                                 std::optional<std::string> region) = 0;

  // The lease check of a node that serves `channels` (it has participants in each), after
  // each heartbeat: a channel placed on it keeps its record alive; one with no record (the
  // store restarted empty, or forgot it) is placed on it again, so joins keep landing where
  // the call runs; one placed on another node meanwhile (this node was cut off and its
  // channels moved) is returned with that node: this node must stop serving it. Throws
  // RedisError when Redis is unreachable (then nothing can have moved either).
  virtual Task<std::vector<Placed>> async_claim(std::string node_id, std::vector<Id> channels) = 0;

  // The node-expiry sweep (each API node, every second): nodes whose heartbeat expired leave
  // the registry, and channels still placed on nodes that left (expired, withdrawn, or
  // reported unreachable) move to live nodes, at most `max` per call, without waiting for
  // someone to join them. Each move comes back with `moved_from`: its clients must be told.
  // `expired`: the nodes this call found with an expired heartbeat (each reported once). Throws
  // RedisError when Redis is unreachable.
  struct Swept {
    std::vector<std::string> expired;
    std::vector<Placed> moved;
  };
  virtual Task<Swept> async_sweep(int max) = 0;

  // Blocking forms for the blocking pool (see coordinator.hpp).
  bool announce(SfuNode node) { return wait(async_announce(std::move(node))); }
  void withdraw(const std::string& node_id) { wait(async_withdraw(node_id)); }
  std::optional<Placed> place(Id channel_id, std::optional<std::string> region = std::nullopt,
                              std::string prefer_node = {}) {
    return wait(async_place(channel_id, std::move(region), std::move(prefer_node)));
  }
  std::optional<Placed> lookup(Id channel_id) { return wait(async_lookup(channel_id)); }
  bool release(Id channel_id, std::uint64_t epoch) {
    return wait(async_release(channel_id, epoch));
  }
  std::optional<Placed> move(Id channel_id, const std::string& from_node,
                             std::optional<std::string> region = std::nullopt) {
    return wait(async_move(channel_id, from_node, std::move(region)));
  }
  bool report_unreachable(const std::string& node_id) {
    return wait(async_report_unreachable(node_id));
  }
  std::vector<Placed> claim(const std::string& node_id, std::vector<Id> channels) {
    return wait(async_claim(node_id, std::move(channels)));
  }
  Swept sweep(int max = 200) { return wait(async_sweep(max)); }
};

// This process's node only: every channel is placed on the one announced node (or on none,
// when this process does not run the SFU role).
std::unique_ptr<Placement> make_local_placement();

}  // namespace hype::cluster
