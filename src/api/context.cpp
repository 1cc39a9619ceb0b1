#include "api/context.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>
#include <charconv>

#include "core/errors.hpp"
#include "core/utf8.hpp"

namespace hype::api {

namespace json = boost::json;

Id Context::id_param(std::size_t i, const char* what) const {
  auto id = parse_id(params_.at(i));
  if (!id) throw not_found(what);
  return *id;
}

std::optional<Id> Context::query_id(const char* name) const {
  auto v = req_.query_param(name);
  if (!v || v->empty()) return std::nullopt;
  auto id = parse_id(*v);
  if (!id) throw bad_request(fmt::format("{} must be an id", name), name);
  return id;
}

std::optional<int> Context::query_int(const char* name, int lo, int hi) const {
  auto v = req_.query_param(name);
  if (!v || v->empty()) return std::nullopt;
  int out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size() || out < lo || out > hi)
    throw bad_request(fmt::format("{} must be an integer from {} to {}", name, lo, hi), name);
  return out;
}

namespace {

// Text a store can keep: valid UTF-8 without NUL. PostgreSQL refuses NUL in TEXT and invalid
// UTF-8 in a UTF8 database with an error, which must never become a 500; SQLite would keep
// the NUL and cut the string short in some readers.
bool storable(std::string_view s) {
  return s.find('\0') == std::string_view::npos && is_valid_utf8(s);
}

// Recursion is bounded: the parser refuses documents nested deeper than 32.
// Returns the innermost object key above the first bad string ("" for a bad key itself).
const char* first_bad_string(const json::value& v, const char* field) {
  switch (v.kind()) {
    case json::kind::string:
      return storable(v.get_string()) ? nullptr : field;
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (const char* f = first_bad_string(e, field)) return f;
      return nullptr;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!storable(kv.key())) return "";
        if (const char* f = first_bad_string(kv.value(), kv.key_c_str())) return f;
      }
      return nullptr;
    default:
      return nullptr;
  }
}

}  // namespace

const json::value& Context::json() {
  if (!json_) {
    const std::string& b = req_.body;
    if (b.empty()) {
      json_ = json::object{};
    } else {
      if (!is_valid_utf8(b)) throw bad_request("body is not valid UTF-8", {}, "invalid_utf8");
      boost::system::error_code ec;
      json::parse_options opt;
      opt.max_depth = 32;
      json::value v = json::parse(b, ec, {}, opt);
      if (ec) throw bad_request("body is not valid JSON", {}, "invalid_json");
      // One check for every string of every route, before any handler can pass one on.
      if (const char* f = first_bad_string(v, ""))
        throw bad_request(*f ? fmt::format("{} must not contain NUL characters", f)
                             : std::string("keys must not contain NUL characters"),
                          f, "invalid_string");
      json_ = std::move(v);
    }
  }
  return *json_;
}

const json::object& Context::body() {
  const auto& v = json();
  if (!v.is_object()) throw bad_request("body must be a JSON object", {}, "invalid_json");
  return v.as_object();
}

std::optional<std::string> Context::str(const char* field, bool required) {
  const auto* v = body().if_contains(field);
  if (!v || v->is_null()) {
    if (required) throw bad_request(fmt::format("{} is required", field), field);
    return std::nullopt;
  }
  if (!v->is_string()) throw bad_request(fmt::format("{} must be a string", field), field);
  return std::string(v->as_string());
}

std::optional<int> Context::integer(const char* field, bool required, int lo, int hi) {
  const auto* v = body().if_contains(field);
  if (!v || v->is_null()) {
    if (required) throw bad_request(fmt::format("{} is required", field), field);
    return std::nullopt;
  }
  std::int64_t n;
  if (v->is_int64())
    n = v->as_int64();
  else if (v->is_uint64() && v->as_uint64() < static_cast<std::uint64_t>(INT64_MAX))
    n = static_cast<std::int64_t>(v->as_uint64());
  else
    throw bad_request(fmt::format("{} must be an integer", field), field);
  if (n < lo || n > hi)
    throw bad_request(fmt::format("{} must be from {} to {}", field, lo, hi), field);
  return static_cast<int>(n);
}

std::optional<bool> Context::boolean(const char* field) {
  const auto* v = body().if_contains(field);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_bool()) throw bad_request(fmt::format("{} must be true or false", field), field);
  return v->as_bool();
}

std::optional<std::vector<Id>> Context::ids(const char* field, bool required) {
  const auto* v = body().if_contains(field);
  if (!v || v->is_null()) {
    if (required) throw bad_request(fmt::format("{} is required", field), field);
    return std::nullopt;
  }
  if (!v->is_array() || v->as_array().size() > 250)
    throw bad_request(fmt::format("{} must be an array of at most 250 ids", field), field);
  std::vector<Id> out;
  for (auto& e : v->as_array()) {
    std::optional<Id> id;
    if (e.is_string()) id = parse_id(std::string(e.as_string()));
    if (!id) throw bad_request(fmt::format("{} must contain ids as strings", field), field);
    out.push_back(*id);
  }
  return out;
}

}  // namespace hype::api
