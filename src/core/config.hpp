// Hype configuration: defaults, then a TOML file (--config), then environment variables
// named HYPE_<SECTION>_<KEY> (voice.mode -> HYPE_VOICE_MODE). Every key is declared once in
// config.cpp with its type, default, check and help text; `hype serve --help` prints them.
// A bad value stops start-up with ConfigError naming the key.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hype {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& key, const std::string& message)
      : std::runtime_error("config " + key + ": " + message), key_(key) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// "N/Ws": a token bucket of N tokens refilled over W seconds (limits.* keys).
struct RateBudget {
  double tokens = 0;
  double per_seconds = 1;
  double rate() const { return tokens / per_seconds; }
};

// server.roles: which parts of `hype serve` this process runs. "all" is every role in one
// process (the default); otherwise a comma list of api, gateway, sfu, analytics.
struct Roles {
  bool api = false;
  bool gateway = false;
  bool sfu = false;
  bool analytics = false;  // consumes voice events into the rollups (voice/analytics.hpp)
  bool all() const { return api && gateway && sfu && analytics; }
  std::string describe() const;  // "api,gateway,sfu,analytics"
};
// Throws std::invalid_argument naming an unknown or missing role.
Roles parse_roles(const std::string& list);

struct Config {
  struct Server {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string data_dir = "./data";
    std::string web_root;    // built web client; empty: found beside the binary; "none": API only
    std::string public_url;  // how clients reach us; default http://host:port
    int node_id = 0;         // snowflake node id, unique per process in a cluster
    int db_threads = 4;      // bounded pool for blocking database calls
    int io_threads = 0;      // HTTP/WebSocket event-loop threads; 0: one per core
    // Nice value added to the event-loop threads (REST, gateway, signaling), not to the SFU
    // workers: on a busy core a packet waits less behind control-plane work.
    int control_nice = 0;
    std::string roles = "all";
    std::string region = "local";  // where this node runs (metrics labels; cluster placement)
    // Reverse proxies whose X-Forwarded-For / X-Real-IP name the client (core/client_address):
    // comma-separated addresses and CIDR blocks; empty: the socket's peer is the client.
    std::string trusted_proxies;
    int max_connections = 0;          // open HTTP/WebSocket connections; 0: from the fd limit
    int ws_identify_timeout = 10;     // seconds a WebSocket may stay unidentified (4003)
    int ws_max_send_bytes = 8 << 20;  // per WebSocket send queue, bytes (4010 past it)
  } server;
  struct Database {
    std::string url;  // "sqlite:///path.db" (default: <data_dir>/hype.db) or "postgres://..."
  } database;
  struct Auth {
    std::string token_secret;  // HS256 key of access tokens; empty: generated into data_dir
    // Ed25519 key of voice tokens, as a secret of >= 32 characters the key is derived from;
    // empty: generated once into data_dir. API nodes mint voice tokens with it.
    std::string voice_key;
    // Ed25519 public key (base64url) SFU nodes verify voice tokens with (`hype keys` on an API
    // node prints it); empty: derived from voice_key (one machine or a shared data_dir).
    std::string voice_public_key;
    int access_ttl = 900;  // seconds
    int refresh_ttl = 30 * 86400;
    int argon2_ops = 2;          // libsodium opslimit (interactive = 2)
    int argon2_mem_kib = 65536;  // libsodium memlimit in KiB (interactive = 64 MiB)
  } auth;
  struct Voice {
    std::string mode = "auto";  // auto | p2p | sfu
    int p2p_max_users = 8;
    int token_ttl = 300;
    int sfu_return_delay = 60;       // seconds at or below threshold-2 before going back to P2P
    int max_forwarded_speakers = 3;  // SFU last-N: audio streams a listener receives at most
  } voice;
  struct Sfu {
    int workers = 0;                         // media worker threads; 0: one per core
    int port = 0;                            // first worker's UDP port, +1 per worker; 0: ephemeral
    std::string announced_ip = "127.0.0.1";  // address put in ICE candidates
    int announced_port = 0;  // port put in ICE candidates; 0: the worker's bound port
    std::string bind_ip = "0.0.0.0";
    bool audio_red = true;   // accept RED (RFC 2198) audio from publishers that offer it
    int capacity = 0;        // participants this node takes before refusing new channels; 0: none
    int drain_timeout = 30;  // s a cluster SFU node drains on SIGTERM before it stops; 0: none
    bool audio_nack = true;  // NACK audio where the client offers it
    int audio_ptime = 10;    // ms of audio per Opus packet asked of clients (a=ptime); 0: theirs
    int audio_ptime_busy_at = 300;  // sessions on a media worker from which 20 ms is asked
  } sfu;
  struct Turn {
    std::string secret;  // coturn static-auth-secret; empty: no TURN credentials issued
    std::string urls;    // comma separated turn: URLs
    std::string stun_urls;
    int ttl = 86400;
  } turn;
  struct Gateway {
    int heartbeat_interval = 41250;  // ms
    int resume_window = 120;         // seconds a dropped session can be resumed
    int replay_buffer = 1000;        // events kept per session for resume
    int max_send_queue = 2000;       // queued frames before a slow consumer is closed
    int max_frame_bytes = 65536;
    int max_sessions_per_user = 20;  // attached or resumable; see docs/protocol.md (4011)
  } gateway;
  struct Limits {
    bool enabled = true;
    int max_body_bytes = 1 << 20;
    RateBudget ip{100, 1};  // requests without a valid access token, per client address
    // Same 50/s as before on average, but a burst of 500: a client catching up after a
    // reconnect (history of many channels) is not a flood.
    RateBudget user{500, 10};            // requests with a valid access token, per user
    RateBudget auth{10, 60};             // register/login attempts, per address
    RateBudget refresh{30, 60};          // token refresh/logout, per address (not the login budget)
    RateBudget login_pair{5, 900};       // failed logins per (account, address)
    RateBudget login_account{10, 3600};  // failed logins per account, all addresses
    RateBudget messages{10, 5};          // message create, per user
    RateBudget gateway{120, 60};         // WebSocket frames, per connection (/gateway and /voice)
    RateBudget identify{30, 60};         // gateway identifies, per client address and per user
    int ws_unauthenticated_per_ip = 50;  // WebSockets not identified yet, per client address
  } limits;
  struct Log {
    std::string level = "info";
    std::string format = "text";  // text | json
  } log;
  struct Telemetry {
    std::string otlp_endpoint;  // traces over OTLP/HTTP JSON; empty: off
  } telemetry;
  struct Cluster {
    // redis://[:password@]host[:port][/db]: nodes share SFU placement through it; empty: one
    // process, in-process coordination.
    std::string redis_url;
    // Each region's nearest other regions, nearest first: "eu=us,ap; us=eu,ap". A channel
    // whose region has no SFU node with room goes to these before any other region.
    std::string nearby_regions;
    // Events cross nodes on a Redis stream keeping about this many (the window in which a
    // gateway client can resume on another node); 0: on pub/sub, no cross-node resume.
    int event_history = 10'000;  // events on a Redis stream (0: pub/sub, no cross-node resume)
  } cluster;

  std::string effective_public_url() const;
  std::string effective_database_url() const;
};

struct ConfigKeyInfo {
  std::string name;  // section.key
  std::string env;   // HYPE_SECTION_KEY
  std::string type;
  std::string default_value;
  std::string help;
};

// Loads defaults, then the TOML file at `path` (if not empty), then the environment.
Config load_config(const std::string& path, const std::function<const char*(const char*)>& getenv);
// Same, but from TOML text (tests).
Config load_config_text(const std::string& toml_text,
                        const std::function<const char*(const char*)>& getenv);
std::vector<ConfigKeyInfo> config_keys();
std::string config_help();
RateBudget parse_rate_budget(const std::string& key, const std::string& s);
// A region label as nodes (server.region) and voice channels (rtc_region) use it: 1-32 of
// a-z, 0-9 and '-'.
bool is_region_name(const std::string& s);
// cluster.nearby_regions: "eu=us,ap; us=eu" -> {eu: [us, ap], us: [eu]}. Region names are
// 1-32 of a-z, 0-9, '-'. Throws ConfigError (naming `key`) on anything else.
std::map<std::string, std::vector<std::string>> parse_nearby_regions(const std::string& key,
                                                                     const std::string& s);
// The inverse, without spaces: "eu=us,ap;us=eu".
std::string format_nearby_regions(const std::map<std::string, std::vector<std::string>>& m);

}  // namespace hype
