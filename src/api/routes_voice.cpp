#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "api/api.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"
#include "telemetry/voice_errors.hpp"
#include "wire/objects.hpp"

namespace hype::api {

namespace json = boost::json;

namespace {
// An SFU node id as placements name them ("node-3"): short, letters, digits, - _ .
bool is_node_id(const std::string& s) {
  return s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
           return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
         });
}
}  // namespace

void Api::add_voice_routes() {
  auto& voice = d_.voice;
  auto& joins =
      d_.metrics.counter("voice_joins_total", "seed: voice joins. Successful voice joins").get();
  auto& denied = d_.metrics.counter("voice_errors_total", telemetry::kVoiceErrorsHelp, {"kind"})
                     .with({"join_denied"});
  router_.add(
      "POST", "/api/v1/voice/join/:id", true, RateClass::none,
      [&voice, &joins, &denied](Context& c) {
        bool mute = c.boolean("self_mute").value_or(false);
        bool deaf = c.boolean("self_deaf").value_or(false);
        // The SFU node this client just lost (a rejoin after a failure): a node id.
        std::string lost = c.str("sfu_failed", false).value_or("");
        if (!is_node_id(lost)) throw bad_request("sfu_failed must be a node id", "sfu_failed");
        // The region the client says it is near: where a new placement goes when the
        // channel has no rtc_region of its own.
        std::string near = c.str("region", false).value_or("");
        if (!near.empty() && !is_region_name(near))
          throw bad_request("region must be a region name (a-z, 0-9, -)", "region");
        // The stay to keep when the cluster lost this user's voice state (/voice said
        // state_lost): an id string.
        std::int64_t resume = 0;
        // With it, the SFU node the client is connected to (its call stays there).
        std::string current = c.str("sfu_node", false).value_or("");
        if (!is_node_id(current)) throw bad_request("sfu_node must be a node id", "sfu_node");
        if (auto s = c.str("session", false)) {
          auto id = parse_id(*s);
          if (!id || *id <= 0) throw bad_request("session must be an id string", "session");
          resume = *id;
        }
        try {
          // The join's placement (checks, SFU node, voice token) as a child span.
          std::optional<telemetry::Span> place;
          if (c.tracer) place = telemetry::start_span("voice.place", c.trace);
          auto answer =
              voice.join(c.user, c.id_param(0, "channel"), mute, deaf, lost, near, resume, current);
          joins.inc();
          auto out = wire::join_answer_json(answer);
          if (place) {
            place->attributes = {{"hype.mode", answer.mode == voice::Mode::sfu ? "sfu" : "p2p"},
                                 {"hype.sfu_node", answer.sfu ? answer.sfu->node.id : ""}};
            c.tracer->record(std::move(*place));
            // Clients pass it in /voice identify: the SFU's spans join this trace.
            out["traceparent"] = c.trace->traceparent();
          }
          return json::value(std::move(out));
        } catch (const ApiError&) {
          denied.inc();  // not a member, no CONNECT, full, not a voice channel, ...
          throw;
        }
      });
  router_.add("POST", "/api/v1/voice/leave/:id", true, RateClass::none, [&voice](Context& c) {
    voice.leave(c.user, c.id_param(0, "channel"));
    c.status = 204;
    return json::value();
  });
  router_.add("GET", "/api/v1/voice/sfu-node/:id", true, RateClass::none, [&voice](Context& c) {
    return json::value(
        json::object{{"node", wire::node_json(voice.sfu_node(c.user, c.id_param(0, "channel")))}});
  });
  router_.add("GET", "/api/v1/voice/mode/:id", true, RateClass::none, [&voice](Context& c) {
    return json::value(
        wire::channel_mode_json(voice.channel_mode(c.user, c.id_param(0, "channel"))));
  });
  // Go Live (screen share): docs/protocol.md, "Streams".
  router_.add("POST", "/api/v1/voice/stream/:id", true, RateClass::none, [&voice](Context& c) {
    return json::value(
        wire::voice_state_json(voice.start_stream(c.user, c.id_param(0, "channel"))));
  });
  router_.add("DELETE", "/api/v1/voice/stream/:id", true, RateClass::none, [&voice](Context& c) {
    auto s = voice.stop_stream(c.user, c.id_param(0, "channel"));
    if (!s) {
      c.status = 204;
      return json::value();
    }
    return json::value(wire::voice_state_json(*s));
  });
  router_.add("GET", "/api/v1/voice/states/:id", true, RateClass::none, [&voice](Context& c) {
    return json::value(
        wire::array_of(voice.states(c.user, c.id_param(0, "channel")), wire::voice_state_json));
  });
}

}  // namespace hype::api
