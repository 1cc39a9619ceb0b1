// Where `hype serve` finds the built web client when server.web_root does not say: beside
// the binary as `cmake --install` lays it out (<prefix>/bin/hype, <prefix>/share/hype/web),
// then in the source tree the binary was built in (build/<preset>/src/app/hype ->
// web/dist), so a bare `hype serve` serves the client without configuration.
#pragma once

#include <string>

namespace hype::app {

// `configured` (server.web_root): "none" = API only; a path = that directory; empty = the
// first of the candidates beside `executable` that holds an index.html, or "" (API only).
std::string resolve_web_root(const std::string& configured, const std::string& executable);

// This process's executable (/proc/self/exe), or "" when unknown.
std::string current_executable();

}  // namespace hype::app
