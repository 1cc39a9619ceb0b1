// The voice mode rule moved to cluster/ (its state is shared in a cluster: ModeCoordinator);
// these names stay for the voice module and its callers.
#pragma once

#include "cluster/mode_policy.hpp"

namespace hype::voice {

using Mode = cluster::VoiceMode;
using cluster::mode_name;
using cluster::ModeChange;
using cluster::ModePolicy;

}  // namespace hype::voice
