// hype-bot's report, once every bot is done: packets sent, received and expected (loss),
// who heard whom (per bot and per sender), latency, join and connect percentiles, the raw
// distributions bench/voice merges across bot processes, and errors. Printed as one JSON
// line (--json) or as aligned "key value" lines. The keys are an interface: the
// integration tests and bench/voice read them.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "bot/bot.hpp"
#include "bot/flows.hpp"
#include "bot/media.hpp"
#include "bot/options.hpp"

namespace hype::bot {

struct Report {
  boost::json::object json;
  bool complete = false;  // every bot connected and heard what it should (held, with --hold)
};

// After run_voice: `channel_id` is the first channel's (the one --channel named or setup made).
Report voice_report(const Bots& bots, const Options& o, const std::string& channel_id,
                    const MediaWindow& window);

// After run_hold: the seats held and left.
Report hold_report(const Bots& bots, const std::string& channel_id, HoldResult h);

void print_report(const boost::json::object& report, bool as_json);

}  // namespace hype::bot
