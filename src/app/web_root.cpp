#include "app/web_root.hpp"

#include <filesystem>
#include <system_error>

namespace hype::app {

namespace fs = std::filesystem;

std::string resolve_web_root(const std::string& configured, const std::string& executable) {
  if (configured == "none") return "";
  if (!configured.empty()) return configured;
  if (executable.empty()) return "";
  const fs::path bin = fs::path(executable).parent_path();
  for (const fs::path& candidate :
       {bin / ".." / "share" / "hype" / "web",                // installed
        bin / ".." / ".." / ".." / ".." / "web" / "dist"}) {  // build tree
    std::error_code ec;
    if (fs::is_regular_file(candidate / "index.html", ec))
      return fs::weakly_canonical(candidate, ec).string();
  }
  return "";
}

std::string current_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : p.string();
}

}  // namespace hype::app
