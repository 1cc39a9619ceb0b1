// The hot read path's JSON. GET /channels/:id/messages answers up to 100 messages; building a
// boost::json DOM for each and then serializing it was over 40% of a read's server CPU
// (docs/benchmarks.md "History reads"). These write the very bytes that
// json::serialize(array_of(messages, message_json)) writes, straight into one string:
// wire_test holds them to that, byte for byte. Everything else keeps the DOM (objects.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/views.hpp"
#include "core/ids.hpp"

namespace hype::wire {

// A JSON string, quoted and escaped as boost::json escapes it (", \, control characters;
// everything else, UTF-8 included, as is).
void append_json_string(std::string& out, std::string_view s);
void append_id_json(std::string& out, Id id);              // "123": ids are strings
void append_time_json(std::string& out, std::int64_t ms);  // as time_json: null for 0
void append_message_json(std::string& out, const chat::MessageView& m);
std::string messages_json(const std::vector<chat::MessageView>& messages);  // a JSON array

}  // namespace hype::wire
