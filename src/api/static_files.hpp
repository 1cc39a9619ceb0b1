// Serves the built web client: hashed assets under /assets with a year-long immutable cache,
// index.html with no-cache, and index.html for any other GET path (single-page app routes).
#pragma once

#include <optional>
#include <string>

#include "net/http_message.hpp"

namespace hype::api {

class StaticFiles {
 public:
  explicit StaticFiles(std::string root);
  bool enabled() const { return !root_.empty(); }
  std::optional<net::HttpResponse> serve(const net::HttpRequest& req) const;

 private:
  std::optional<net::HttpResponse> file(const std::string& rel, bool immutable) const;
  std::string root_;
};

}  // namespace hype::api
