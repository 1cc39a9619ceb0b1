// hype-bot: load and test client for the SFU. Logs in over REST, joins a voice channel like a
// browser (/voice/join, /voice WebSocket, SDP offer/answer), runs a full ICE controlling
// agent, DTLS client and SRTP per bot, sends real Opus (tone in talk spurts, DTX silence)
// with audio level and a send-timestamp header extension, receives everything and prints a
// report. Many bots share one process: one signaling thread per bot, one media thread.
// Audio arrives in last-N slots: a packet's user is the one the latest `slots` event names
// for its stream's mid. --hold only keeps REST voice states (seats) without media. Every
// bot leaves voice over REST at the end, also on SIGINT/SIGTERM (the report still prints).
// The parts: options.hpp (flags), flows.hpp (setup, joins, hold, leave), media.hpp (the
// transport and the media thread), report.hpp. Exit codes: 0 every bot connected and heard
// every speaker (or held its seat), 1 setup failed, 2 bad flags, 3 the run fell short.
#include <signal.h>

#include <cstdio>

#include "bot/bot.hpp"
#include "bot/flows.hpp"
#include "bot/options.hpp"
#include "bot/report.hpp"
#include "bot/signaling_client.hpp"
#include "core/random.hpp"
#include "rtc/dtls_session.hpp"

using namespace hype;

namespace {

extern "C" void on_signal(int) {
  bot::g_signaled.store(true);
}

}  // namespace

int main(int argc, char** argv) {
  bot::Options o;
  if (auto rc = bot::parse_options(argc, argv, o)) return *rc;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends it at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  bot::RestClient rest(o.host, o.port);
  auto cert = rtc::DtlsCertificate::generate("hype-bot");
  auto ctx = rtc::DtlsContext::create(cert.value());
  if (!ctx) {
    std::fprintf(stderr, "DTLS: %s\n", ctx.error().message.c_str());
    return 1;
  }
  bot::Fleet fleet;
  if (!bot::setup_bots(o, rest, fleet)) return 1;
  if (!o.join_file.empty() && !bot::wait_join_file(o.join_file, o.join_timeout + 600)) return 1;

  if (o.hold) {
    auto held = bot::run_hold(fleet.bots, o.duration);
    auto r = bot::hold_report(fleet.bots, fleet.channel_ids.front(), std::move(held));
    bot::print_report(r.json, o.as_json);
    return r.complete ? 0 : 3;
  }
  auto window = bot::run_voice(fleet, o, ctx.value());
  if (!window) return 1;
  auto r = bot::voice_report(fleet.bots, o, fleet.channel_ids.front(), *window);
  bot::print_report(r.json, o.as_json);
  return r.complete ? 0 : 3;
}
