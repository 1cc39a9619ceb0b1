// `hype serve`: builds the object graph for the configured roles (server.roles / --roles:
// api, gateway, sfu; "all" runs every role in one process), runs it until SIGINT/SIGTERM, and
// shuts down cleanly. node.hpp holds what the roles share, domain.hpp what api and gateway
// share, sfu_role.hpp the media side.
#pragma once

#include "core/config.hpp"

namespace hype::app {

int run_server(const Config& config);
int run_migrate(const Config& config);
// `hype keys`: prints the voice-token public key SFU nodes verify with (auth.voice_public_key).
int run_keys(const Config& config);
// `hype cluster status`: the SFU nodes in the registry (cluster.redis_url), with load and channels.
int run_cluster_status(const Config& config);
// `hype sfu drain NODE`: asks the node (through the cluster's Redis) to drain as on SIGTERM and
// waits up to `wait_seconds` for it to leave the registry. 0 drained (or not waited for), 1 not
// gone in time or Redis failed, 2 no such node or no cluster.
int run_sfu_drain(const Config& config, const std::string& node_id, int wait_seconds);

}  // namespace hype::app
