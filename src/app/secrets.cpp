#include "app/secrets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/random.hpp"

namespace hype::app {

std::string load_or_create_secret(const std::string& data_dir, const std::string& name) {
  namespace fs = std::filesystem;
  fs::create_directories(data_dir);
  fs::path p = fs::path(data_dir) / name;
  {
    std::ifstream in(p);
    std::string s;
    if (in && std::getline(in, s) && s.size() >= 32) return s;
  }
  std::string secret = random_token(48);
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + p.string());
  std::string line = secret + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + p.string());
  return secret;
}

}  // namespace hype::app
