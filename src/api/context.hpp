// One API request as handlers see it: path parameters, the authenticated user, the parsed
// JSON body and typed field readers that answer 400 naming the field.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "net/http_message.hpp"
#include "telemetry/trace.hpp"

namespace hype::api {

class Context {
 public:
  Context(const net::HttpRequest& req, std::vector<std::string> params)
      : req_(req), params_(std::move(params)) {}

  const net::HttpRequest& request() const { return req_; }
  Id user = 0;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set by a handler that wrote its answer's JSON itself (a hot path: no DOM); the value it
  // returns is then not used.
  std::string answer_json;
  // The request's span (child of its traceparent header) when tracing is on; handlers record
  // children of it on `tracer`.
  std::optional<telemetry::TraceContext> trace;
  telemetry::Tracer* tracer = nullptr;

  // Path parameter i as an id; 404 naming `what` when it is not one.
  Id id_param(std::size_t i, const char* what) const;
  const std::string& param(std::size_t i) const { return params_.at(i); }
  std::optional<Id> query_id(const char* name) const;
  std::optional<int> query_int(const char* name, int lo, int hi) const;

  const boost::json::value& json();   // whole body; 400 invalid_json when malformed
  const boost::json::object& body();  // body that must be an object
  std::optional<std::string> str(const char* field, bool required);
  std::optional<int> integer(const char* field, bool required, int lo, int hi);
  std::optional<bool> boolean(const char* field);
  std::optional<std::vector<Id>> ids(const char* field, bool required);

 private:
  const net::HttpRequest& req_;
  std::vector<std::string> params_;
  std::optional<boost::json::value> json_;
};

}  // namespace hype::api
