#include "core/errors.hpp"

namespace hype {

ApiError bad_request(std::string message, std::string field, std::string code) {
  return ApiError(400, std::move(code), std::move(message), std::move(field));
}
ApiError unauthorized(std::string message) {
  return ApiError(401, "unauthorized", std::move(message));
}
ApiError forbidden(std::string message) {
  return ApiError(403, "forbidden", std::move(message));
}
ApiError not_found(std::string what) {
  return ApiError(404, "not_found", std::move(what) + " not found");
}
ApiError conflict(std::string message, std::string field) {
  return ApiError(409, "conflict", std::move(message), std::move(field));
}
ApiError too_many_requests(int retry_after_seconds) {
  return ApiError(429, "rate_limited", "too many requests, slow down")
      .with_retry_after(retry_after_seconds);
}

}  // namespace hype
