// Secrets that must survive restarts but need no operator: generated once into data_dir
// with mode 0600 and read back afterwards.
#pragma once

#include <string>

namespace hype::app {

std::string load_or_create_secret(const std::string& data_dir, const std::string& name);

}  // namespace hype::app
