#include "net/ws_envelope.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace hype::net {

namespace json = boost::json;

namespace {
constexpr std::size_t kMaxDepth = 32;

// The op as a JSON string literal: op names are ours, but a reflected one must not break
// the frame.
void append_op(std::string& out, std::string_view op) {
  out += "{\"op\":";
  out += json::serialize(json::string(op));
}
}  // namespace

const json::value* Envelope::d() const {
  return frame.as_object().if_contains("d");
}

const json::object& Envelope::d_object() const {
  static const json::object kEmpty;
  const json::value* v = d();
  return v && v->is_object() ? v->as_object() : kEmpty;
}

Result<Envelope> parse_envelope(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opt;
  opt.max_depth = kMaxDepth;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec || !v.is_object())
    return Error{std::string(kEnvelopeNotObject), "frame is not a JSON object"};
  const json::value* op = v.as_object().if_contains("op");
  if (!op || !op->is_string()) return Error{std::string(kEnvelopeMissingOp), "missing op"};
  Envelope e;
  e.op = std::string(op->as_string());
  e.frame = std::move(v);
  return e;
}

std::string frame(std::string_view op, const json::value& d) {
  return frame_raw(op, json::serialize(d));
}

std::string frame_raw(std::string_view op, std::string_view d_json) {
  std::string out;
  out.reserve(d_json.size() + op.size() + 16);
  append_op(out, op);
  out += ",\"d\":";
  out += d_json;
  out += '}';
  return out;
}

std::string frame(std::string_view op) {
  std::string out;
  append_op(out, op);
  out += '}';
  return out;
}

std::string error_frame(std::string_view code, std::string_view message) {
  return frame("error", json::object{{"code", code}, {"message", message}});
}

std::optional<Id> id_field(const json::value* v, bool allow_number) {
  if (!v) return std::nullopt;
  if (v->is_string()) return parse_id(v->as_string());
  if (!allow_number) return std::nullopt;
  if (v->is_int64() && v->as_int64() > 0) return v->as_int64();
  return std::nullopt;  // 0, negative, fractional, or past the id range
}

}  // namespace hype::net
