// hype-bot's flows, the way a browser would go through them: setup (register users, create
// a guild and its voice channel or join one by invite; with --target janus, create the
// videoroom rooms), the voice join (hype: POST /voice/join, the /voice WebSocket, offer and
// answer, server offers for new streams, `slots` events; Janus: publisher and subscriber
// handles of the videoroom plugin), the media run between them, the leave over REST at the
// end, and --hold (voice states only, no media). Each bot's signaling runs on its own
// thread; media on the calling thread (media.hpp).
#pragma once

#include <boost/json/array.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bot/bot.hpp"
#include "bot/media.hpp"
#include "bot/options.hpp"
#include "bot/signaling_client.hpp"
#include "rtc/dtls_session.hpp"

namespace hype::bot {

// --target janus: the same bots against Janus's videoroom. Every bot joins as a publisher
// (presence); speakers also publish their audio; once every speaker's feed exists, each bot
// subscribes to all other speakers' feeds on a second PeerConnection. With --stream/--watch
// (video): the streamer is the one publisher (its VP8 clip), each watcher one subscriber.
struct JanusRoom {
  std::string url;
  std::uint64_t room = 0;
  std::size_t speakers = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, std::uint64_t>> feeds;  // bot index, feed id
};

// Everything setup made: the bots in report order (with Janus a speaker's publisher
// transport comes right before it), the channel of each --channels group, Janus's rooms.
struct Fleet {
  Bots bots;
  std::vector<std::string> channel_ids;
  std::vector<std::unique_ptr<JanusRoom>> janus_rooms;
};

// Creates the bots and what they join. False (with a line on stderr) on any failure.
// SIGINT/SIGTERM stops it early with the bots made so far.
bool setup_bots(const Options& o, RestClient& rest, Fleet& fleet);

struct HoldResult {
  int held = 0;               // bots that got a voice state
  boost::json::array errors;  // one per bot that did not
};

// --hold: voice states only (seats in a channel whose media runs elsewhere, e.g. P2P), for
// `duration` seconds or until SIGINT/SIGTERM, then left over REST.
// --join-file: announces the end of setup (FILE.ready-PID) and waits up to `timeout_s` for
// FILE; false (with a message) on timeout or a signal.
bool wait_join_file(const std::string& file, double timeout_s);

HoldResult run_hold(Bots& bots, double duration);

// Joins every bot (a signaling thread each), runs the media loop on this thread, stops
// the signaling, leaves voice over REST and closes the sockets. nullopt (with a line on
// stderr) when the media could not be set up.
std::optional<MediaWindow> run_voice(Fleet& fleet, const Options& o,
                                     const std::shared_ptr<rtc::DtlsContext>& ctx);

}  // namespace hype::bot
