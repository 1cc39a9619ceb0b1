#include "api/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hype::api {

namespace fs = std::filesystem;

namespace {
const char* content_type(const std::string& path) {
  auto ext = fs::path(path).extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}
}  // namespace

StaticFiles::StaticFiles(std::string root) {
  if (!root.empty() && fs::is_directory(root)) root_ = fs::canonical(root).string();
}

std::optional<net::HttpResponse> StaticFiles::file(const std::string& rel, bool immutable) const {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::path(root_) / rel, ec);
  if (ec) return std::nullopt;
  // Stay inside the root whatever the path says ("..", symlinks).
  auto ps = p.string();
  if (ps.compare(0, root_.size(), root_) != 0 ||
      (ps.size() > root_.size() && ps[root_.size()] != '/'))
    return std::nullopt;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  net::HttpResponse r;
  r.content_type = content_type(ps);
  r.body = ss.str();
  r.headers.emplace_back("Cache-Control",
                         immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

std::optional<net::HttpResponse> StaticFiles::serve(const net::HttpRequest& req) const {
  if (root_.empty() || (req.method != "GET" && req.method != "HEAD")) return std::nullopt;
  const std::string& path = req.path;
  if (path.find('\0') != std::string::npos) return std::nullopt;
  std::string rel = path.empty() ? "" : path.substr(1);
  if (!rel.empty() && rel != "index.html") {
    bool hashed = rel.rfind("assets/", 0) == 0;
    if (auto r = file(rel, hashed)) return r;
    // A missing asset is a 404, not the app: the browser asked for a file.
    if (hashed || fs::path(rel).has_extension()) return std::nullopt;
  }
  return file("index.html", false);
}

}  // namespace hype::api
