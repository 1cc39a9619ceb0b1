// The `{"op": string, "d": payload}` envelope that /gateway and /voice both speak over
// net's WebSocket layer: parsing a client frame (with its error cases), writing a frame,
// the `error` frame, and reading an id field. The endpoints keep their own ops and decide
// what a decode error costs (docs/protocol.md, "WebSocket close codes": 4002 on both); this
// is only the shared grammar, so a change to it reaches both endpoints at once.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.hpp"
#include "core/result.hpp"

namespace hype::net {

// A parsed client frame. `frame` owns the JSON; d() and d_object() point into it.
struct Envelope {
  boost::json::value frame;
  std::string op;

  const boost::json::value* d() const;  // null when the frame has no "d"
  // d as an object; an empty object when d is absent or not an object (ops whose payload is
  // optional read their fields from here).
  const boost::json::object& d_object() const;
};

// Why a frame is not an envelope (Error::code); both are decode errors (close 4002).
inline constexpr std::string_view kEnvelopeNotObject = "not_object";  // bad JSON, not an object
inline constexpr std::string_view kEnvelopeMissingOp = "missing_op";  // no "op" string

// Parses a text frame (nesting bounded, as for every client JSON). The error's message is
// the gateway's wording: "frame is not a JSON object" or "missing op".
Result<Envelope> parse_envelope(std::string_view text);

// {"op":op,"d":d}
std::string frame(std::string_view op, const boost::json::value& d);
// {"op":op,"d":<d_json>} for a payload that is already serialized (replay buffers keep them
// that way); d_json must be valid JSON.
std::string frame_raw(std::string_view op, std::string_view d_json);
// {"op":op}: ops without a payload.
std::string frame(std::string_view op);
// {"op":"error","d":{"code":code,"message":message}}: an error that does not end the
// connection (or says why before a close).
std::string error_frame(std::string_view code, std::string_view message);

// Reads an id field: a positive decimal string of at most 19 digits (ids travel as strings,
// as JSON numbers lose precision past 2^53 in JavaScript), or, when allow_number, also a
// positive JSON integer (hype-bot sends /voice channel_id as a number). nullopt for a null
// pointer and anything else.
std::optional<Id> id_field(const boost::json::value* v, bool allow_number = false);

}  // namespace hype::net
