// hype-bot's command line: every flag with its default, parsed by CLI11 and then checked
// as a whole (combinations CLI11 cannot express, the server URL). The flags are an interface:
// tests/integration, bench/smoke.sh and bench/voice/run.py drive the bot through them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bot/opus_loop.hpp"

namespace hype::bot {

struct Options {
  std::string server = "http://127.0.0.1:8080", channel, invite;
  int count = 10, speakers = 3;
  int channels = 1;  // --count bots in each
  double duration = 10;
  bool as_json = false, hold = false;
  TalkOptions talk;
  std::string target = "hype", janus_url = "http://127.0.0.1:8088/janus";
  std::uint64_t janus_room = 0;
  std::string go_file;
  // Crowd joins (bench/voice): after setup, create join_file + ".ready-" + pid, then join only
  // once join_file exists, so every process joins at the same moment and no registration
  // (Argon2id on the server) overlaps anyone's join.
  std::string join_file;
  double join_timeout = 20, warmup = 0;
  // Video (video.hpp): --stream publishes --video-clip; --watch makes --watchers viewers.
  std::string video_clip, watch;
  bool stream = false;
  int watchers = 0, drop_every = 0, watch_drop_every = 0, pli_every_ms = 0;
  double pace = 0;  // --pace: send video at this multiple of the clip's bitrate (0: bursts)
  int audio_drop_every = 0;  // --audio-drop-every: speakers skip every Nth audio packet
  int ptime = 0;             // --ptime: Opus frame ms (10 or 20); 0: what the answer's a=ptime asks
  double report_every = 10;  // --report-every: seconds between quality reports (0: none)

  // Derived by parse_options once the flags are valid.
  int total = 0;           // count * channels
  bool janus = false;      // --target janus
  bool video = false;      // --stream or --watch: stream connections instead of voice
  std::string host, port;  // of --server (--janus-url with --target janus)
};

// Parses and checks argv into `out`. Returns the exit code when the process ends here
// (--help: 0; a bad flag: CLI11's code; a bad combination or URL: 2, with a line on
// stderr), nullopt when the bot should run.
std::optional<int> parse_options(int argc, char** argv, Options& out);

}  // namespace hype::bot
