// Typed control-path errors. Domain services throw ApiError; the API and gateway boundary
// catch it once and turn it into {"error":{"code","message","field"}} with its HTTP status.
// Messages are written for users: never SQL, stack traces or secrets.
#pragma once

#include <stdexcept>
#include <string>

namespace hype {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, std::string message, std::string field = {})
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}

  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& field() const { return field_; }
  // Seconds a client should wait (429 only); 0 when not set.
  int retry_after() const { return retry_after_; }
  ApiError& with_retry_after(int seconds) {
    retry_after_ = seconds;
    return *this;
  }

 private:
  int status_;
  std::string code_;
  std::string field_;
  int retry_after_ = 0;
};

// Factories for the common cases, so call sites read as intent.
ApiError bad_request(std::string message, std::string field = {},
                     std::string code = "invalid_field");
ApiError unauthorized(std::string message = "authentication required");
ApiError forbidden(std::string message = "missing permission");
ApiError not_found(std::string what);
ApiError conflict(std::string message, std::string field = {});
ApiError too_many_requests(int retry_after_seconds);

// Raised by storage backends when a unique constraint is hit; services map it to 409.
class ConflictError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Raised by storage backends on any other failure; the boundary answers 500 without detail.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hype
