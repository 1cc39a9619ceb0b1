// hype-bot's media plane: each bot's transport (a UDP socket, ICE controlling agent, DTLS
// client, SRTP), its SDP (the bot's own offer; answers to a server's offers), and the one
// media thread that drives every bot: receives and counts audio (per stream, per publisher,
// latency from the sender's stamp), sends each speaker's Opus frames every 10 or 20 ms (the
// answer's a=ptime, or --ptime), and
// decides the measured window. Signaling (flows.hpp) hands a bot over through connect_media.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "bot/bot.hpp"
#include "bot/options.hpp"
#include "bot/opus_loop.hpp"
#include "rtc/dtls_session.hpp"
#include "rtc/sdp/sdp.hpp"

namespace hype::bot {

// The bot's offer: one sendrecv Opus section with its header extensions and its SSRC.
std::string offer_sdp(Bot& b, const rtc::DtlsCertificate& cert);

// Answers a server offer: same sections, directions mirrored, our transport attributes.
// Empty when the offer does not parse.
std::string answer_sdp(const std::string& offer, Bot& b, const rtc::DtlsCertificate& cert);

// Starts ICE (controlling, towards the candidates in `m`) and DTLS for one transport; from
// here on the media loop drives it. A repeated call (a repeated answer) does nothing.
void connect_media(Bot& t, const rtc::sdp::MediaSection& m, std::shared_ptr<rtc::DtlsContext> ctx,
                   rtc::DtlsRole role);

// Opus loops shared by bots with the same index (speaker slot).
using OpusLoops = std::map<int, std::unique_ptr<OpusLoop>>;

// Binds each bot's socket, draws its ICE credentials, SSRC, sequence and timestamp, and
// gives it its Opus loop. False (with a line on stderr) when a socket cannot be bound.
bool prepare_media(Bots& bots, const Options& o, OpusLoops& loops);

struct MediaWindow {
  std::int64_t start_us = -1, end_us = -1;  // -1: media never started (e.g. SIGINT)
};

// The media thread: runs until the window (and its drain) is over or SIGINT/SIGTERM.
MediaWindow run_media(Bots& bots, const Options& o);

}  // namespace hype::bot
