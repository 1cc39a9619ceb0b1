// `hype serve`: builds the object graph for the configured roles (today: all roles in one
// process), runs it until SIGINT/SIGTERM, and shuts down cleanly.
#pragma once

#include "core/config.hpp"

namespace hype::app {

int run_server(const Config& config);
int run_migrate(const Config& config);

}  // namespace hype::app
