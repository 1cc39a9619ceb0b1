// The payload ("d") of each bus event, serialized: the EventEncoder the app hands ChatService,
// so events leave the domain typed and reach the gateway's fan-out as ready JSON text.
#pragma once

#include <string>

#include "chat/views.hpp"

namespace hype::wire {

std::string encode_event_body(const chat::EventBody& body);

}  // namespace hype::wire
