// Placement with metrics: wraps any Placement (local or Redis) and counts its decisions for
// /metrics, the cluster-wide placement counters of docs/operations.md:
// - placement_decisions_total{outcome}: kept (the channel's node answered), placed (a new
//   decision), moved (off a node that is gone), none (no SFU node can take it), unavailable
//   (the store could not decide: PlacementError or Redis down);
// - placement_decision_seconds: the time one place() takes (one Redis round trip in a cluster);
// - placement_moves_total{reason}: channels moved by the node-expiry sweep (sweep) and by
//   drains (drain); placement_nodes_lost_total{how}: nodes that left by expiry (expired) or a
//   client's report (reported).
#pragma once

#include <memory>

#include "cluster/placement.hpp"
#include "core/metrics.hpp"

namespace hype::cluster {

std::unique_ptr<Placement> make_metered_placement(std::unique_ptr<Placement> inner,
                                                  metrics::Registry& registry);

}  // namespace hype::cluster
