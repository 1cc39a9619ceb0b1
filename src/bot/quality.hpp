// hype-bot's quality reports: what a browser sends every 10 s (docs/protocol.md "Quality
// reports"), from the bot's own receive counters: per received audio stream the packets
// received and lost, RFC 3550 jitter and bytes over the interval. The bot has no RTCP round
// trip; it reports as rtt_s the one-way delay it measures from the senders' stamps (sender
// and receiver share a clock), which is what the server's SFU estimate takes RTT to stand for
// (both legs of the path). No jitter buffer and no concealment: those keys are left out.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>

#include "bot/bot.hpp"
#include "rtc/rtp/rtp_packet.hpp"

namespace hype::bot {

// Every received audio packet (under b.mu): sequence, bytes, jitter; the send stamp's delay.
void note_for_report(Bot& b, const rtc::RtpPacket& p, std::size_t bytes, std::int64_t now_us,
                     std::int64_t sent_at_us);

// The report for the interval since the previous one (under b.mu); starts the next interval.
boost::json::object quality_report(Bot& b, double interval_s);

}  // namespace hype::bot
