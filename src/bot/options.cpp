// hype-bot's flags (options.hpp). The order of add_option is the order --help lists them.
#include "bot/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include "bot/signaling_client.hpp"

namespace hype::bot {

std::optional<int> parse_options(int argc, char** argv, Options& o) {
  CLI::App app{"hype-bot: voice load and test client for the Hype SFU"};
  app.add_option("--server", o.server, "Hype server URL");
  app.add_option("--count", o.count, "number of bots")->check(CLI::Range(1, 1000));
  app.add_option("--speakers", o.speakers, "bots that talk (the first K)");
  app.add_option("--duration", o.duration, "seconds of media after everyone joined");
  app.add_option("--channel", o.channel,
                 "voice channel id (default: create users, guild, channel)");
  app.add_option("--invite", o.invite, "invite code to join the channel's guild (with --channel)");
  app.add_flag("--json", o.as_json, "print the report as JSON");
  app.add_flag("--hold", o.hold,
               "only hold voice states: REST-join the channel, no media, leave after --duration "
               "seconds or on SIGINT/SIGTERM");
  app.add_flag("--continuous", o.talk.continuous, "speakers talk without pauses");
  app.add_option("--level-step", o.talk.level_step_db,
                 "speaker i talks i*STEP dB quieter than speaker 0 (last-N tests)");
  app.add_option("--warmup", o.warmup, "seconds of media before latency samples count");
  app.add_option("--go-file", o.go_file,
                 "start media once connected and this file exists (without it, speakers talk "
                 "from the moment they are connected; what counts starts once all are)");
  app.add_option("--join-file", o.join_file,
                 "after setup, create FILE.ready-PID and wait for FILE before joining (several "
                 "bot processes joining at one moment)");
  app.add_option("--join-timeout", o.join_timeout, "seconds to wait for every bot to connect");
  app.add_option("--target", o.target, "server kind: hype, or janus (videoroom plugin)")
      ->check(CLI::IsMember({"hype", "janus"}));
  app.add_option("--janus-url", o.janus_url, "Janus HTTP API base URL (with --target janus)");
  app.add_option("--janus-room", o.janus_room, "videoroom room id to create (default: random)");
  app.add_option("--channels", o.channels, "channels (rooms) to create, --count bots in each")
      ->check(CLI::Range(1, 1000));
  app.add_option("--video-clip", o.video_clip,
                 "VP8 IVF clip the --stream bot sends in a loop (bench/video/make_clip.sh)");
  app.add_flag("--stream", o.stream,
               "one bot goes live (POST /voice/stream) and streams --video-clip on a stream "
               "connection; with --target janus it publishes the clip as a videoroom VP8 feed "
               "(with --stream or --watch, --count and --speakers do not apply)");
  app.add_option("--watch", o.watch,
                 "USER_ID or any: --watchers bots watch that user's stream (any: the first live "
                 "stream not their own)");
  app.add_option("--watchers", o.watchers, "bots that watch (with --watch; default 1)")
      ->check(CLI::Range(0, 1000));
  app.add_option("--drop-every", o.drop_every,
                 "the streaming bot does not send every Nth new video packet (NACK/RTX tests)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--watch-drop-every", o.watch_drop_every,
                 "each watcher ignores every Nth video packet it receives, as if lost (it NACKs "
                 "it; RTX tests)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--audio-drop-every", o.audio_drop_every,
                 "speakers do not send every Nth audio packet (their listeners see loss: "
                 "quality report and alert tests)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--ptime", o.ptime,
                 "Opus frame length, ms: 10 or 20; 0 (default): what the server's answer asks "
                 "(a=ptime up to 10: 10 ms; otherwise or none: 20 ms)")
      ->check(CLI::IsMember({0, 10, 20}));
  app.add_option("--report-every", o.report_every,
                 "seconds between the quality reports each voice bot sends on /voice, as a "
                 "browser does every 10 s (0: none)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--pace", o.pace,
                 "the streamer paces its video at this multiple of the clip's mean bitrate (a "
                 "browser's pacer uses 2.5); 0 (default): each frame's packets back to back")
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--pli-every-ms", o.pli_every_ms,
                 "each watcher sends a PLI every N ms once it has a frame")
      ->check(CLI::Range(0, 600000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  o.speakers = std::clamp(o.speakers, 0, o.count);
  if (o.channels > 1 && !o.channel.empty()) {
    std::fprintf(stderr, "--channels > 1 creates its channels: no --channel\n");
    return 2;
  }
  o.video = o.stream || !o.watch.empty();
  if (o.video) {
    if (o.stream && o.video_clip.empty()) {
      std::fprintf(stderr, "--stream needs --video-clip\n");
      return 2;
    }
    if (o.hold || o.channels > 1) {
      std::fprintf(stderr, "--stream/--watch: not with --hold or --channels\n");
      return 2;
    }
    if (o.target == "janus" && !o.stream) {
      std::fprintf(stderr, "--target janus: --watch needs --stream (the bots make the room)\n");
      return 2;
    }
    if (!o.stream && o.channel.empty()) {
      std::fprintf(stderr, "--watch without --stream needs --channel (and --invite)\n");
      return 2;
    }
    if (!o.watch.empty() && o.watchers == 0) o.watchers = 1;
    if (o.watch.empty()) o.watchers = 0;
    o.count = (o.stream ? 1 : 0) + o.watchers;
    o.speakers = 0;
    if (o.count == 0) {
      std::fprintf(stderr, "--watchers 0 and no --stream: no bots\n");
      return 2;
    }
  }
  o.total = o.count * o.channels;
  o.janus = o.target == "janus";
  if (o.janus && o.hold) {
    std::fprintf(stderr, "--hold holds hype voice states: not with --target janus\n");
    return 2;
  }
  if (o.janus) o.server = o.janus_url;
  std::string path;
  if (!split_url(o.server, o.host, o.port, path)) {
    std::fprintf(stderr, "bad --server URL\n");
    return 2;
  }
  return std::nullopt;
}

}  // namespace hype::bot
