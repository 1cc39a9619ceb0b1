#include "core/config.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/client_address.hpp"
#include "core/random.hpp"

namespace hype {

namespace {

struct KeyDef {
  const char* section;
  const char* key;
  const char* type;  // string | int | bool | rate
  const char* help;
  std::function<void(Config&, const std::string&)> set;  // from text (env) form
  std::function<void(Config&, const toml::node&)> set_toml;
  std::function<std::string(const Config&)> get;
};

std::string full_name(const KeyDef& d) {
  return std::string(d.section) + "." + d.key;
}

int parse_int(const std::string& key, const std::string& s, int lo, int hi) {
  std::size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &pos);
  } catch (...) {
    throw ConfigError(key, fmt::format("expected an integer, got \"{}\"", s));
  }
  if (pos != s.size()) throw ConfigError(key, fmt::format("expected an integer, got \"{}\"", s));
  if (v < lo || v > hi) throw ConfigError(key, fmt::format("must be between {} and {}", lo, hi));
  return static_cast<int>(v);
}

bool parse_bool(const std::string& key, const std::string& s) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  throw ConfigError(key, fmt::format("expected true or false, got \"{}\"", s));
}

template <typename Section>
KeyDef make_str(const char* sec, const char* key, Section Config::*s, std::string Section::*m,
                const char* help,
                std::function<void(const std::string&, const std::string&)> check = {}) {
  std::string name = std::string(sec) + "." + key;
  auto set = [=](Config& c, const std::string& v) {
    if (check) check(name, v);
    (c.*s).*m = v;
  };
  return {sec,
          key,
          "string",
          help,
          set,
          [=](Config& c, const toml::node& n) {
            auto v = n.value<std::string>();
            if (!v) throw ConfigError(name, "expected a string");
            set(c, *v);
          },
          [=](const Config& c) { return (c.*s).*m; }};
}

template <typename Section>
KeyDef make_int(const char* sec, const char* key, Section Config::*s, int Section::*m, int lo,
                int hi, const char* help) {
  std::string name = std::string(sec) + "." + key;
  auto set = [=](Config& c, const std::string& v) { (c.*s).*m = parse_int(name, v, lo, hi); };
  return {sec,
          key,
          "int",
          help,
          set,
          [=](Config& c, const toml::node& n) {
            auto v = n.value<std::int64_t>();
            if (!v || !n.is_integer()) throw ConfigError(name, "expected an integer");
            set(c, std::to_string(*v));
          },
          [=](const Config& c) { return std::to_string((c.*s).*m); }};
}

template <typename Section>
KeyDef make_bool(const char* sec, const char* key, Section Config::*s, bool Section::*m,
                 const char* help) {
  std::string name = std::string(sec) + "." + key;
  auto set = [=](Config& c, const std::string& v) { (c.*s).*m = parse_bool(name, v); };
  return {sec,
          key,
          "bool",
          help,
          set,
          [=](Config& c, const toml::node& n) {
            if (!n.is_boolean()) throw ConfigError(name, "expected true or false");
            (c.*s).*m = *n.value<bool>();
          },
          [=](const Config& c) { return std::string((c.*s).*m ? "true" : "false"); }};
}

template <typename Section>
KeyDef make_rate(const char* sec, const char* key, Section Config::*s, RateBudget Section::*m,
                 const char* help) {
  std::string name = std::string(sec) + "." + key;
  auto set = [=](Config& c, const std::string& v) { (c.*s).*m = parse_rate_budget(name, v); };
  return {sec,
          key,
          "rate",
          help,
          set,
          [=](Config& c, const toml::node& n) {
            auto v = n.value<std::string>();
            if (!v) throw ConfigError(name, "expected a string like \"10/60s\"");
            set(c, *v);
          },
          [=](const Config& c) {
            const RateBudget& b = (c.*s).*m;
            return fmt::format("{}/{}s", b.tokens, b.per_seconds);
          }};
}

// A secret given in the configuration: empty (generated) or at least 32 characters.
void check_secret(const std::string& key, const std::string& v) {
  if (!v.empty() && v.size() < 32) throw ConfigError(key, "must be at least 32 characters");
}

void check_one_of(const std::string& key, const std::string& v,
                  std::initializer_list<const char*> allowed) {
  for (auto* a : allowed)
    if (v == a) return;
  std::string list;
  for (auto* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  throw ConfigError(key, fmt::format("must be one of {}, got \"{}\"", list, v));
}

const std::vector<KeyDef>& defs() {
  using C = Config;
  static const std::vector<KeyDef> d = {
      make_str("server", "host", &C::server, &C::Server::host, "address to listen on"),
      make_int("server", "port", &C::server, &C::Server::port, 0, 65535, "HTTP/WebSocket port"),
      make_str("server", "data_dir", &C::server, &C::Server::data_dir,
               "directory for the SQLite file and generated secrets"),
      make_str("server", "web_root", &C::server, &C::Server::web_root,
               "directory of the built web client served at / (empty: found beside the binary, "
               "<prefix>/share/hype/web or the source tree's web/dist; none: API only)"),
      make_str("server", "public_url", &C::server, &C::Server::public_url,
               "URL clients use to reach this server (default http://host:port)"),
      make_int("server", "node_id", &C::server, &C::Server::node_id, 0, 1023,
               "snowflake node id, unique per process in a cluster"),
      make_int("server", "io_threads", &C::server, &C::Server::io_threads, 0, 64,
               "HTTP/WebSocket event-loop threads (0: one per core)"),
      make_int("server", "control_nice", &C::server, &C::Server::control_nice, 0, 19,
               "nice value added to the event-loop threads (REST, gateway, /voice signaling) but "
               "not to the SFU media workers, so media waits less behind control-plane work"),
      make_int("server", "db_threads", &C::server, &C::Server::db_threads, 1, 64,
               "threads for blocking database calls"),
      make_str("server", "roles", &C::server, &C::Server::roles,
               "roles this process runs: all, or a comma list of api,gateway,sfu,analytics",
               [](const std::string& k, const std::string& v) {
                 try {
                   (void)parse_roles(v);
                 } catch (const std::invalid_argument& e) {
                   throw ConfigError(k, e.what());
                 }
               }),
      make_str("server", "region", &C::server, &C::Server::region,
               "region this node runs in (a label on hype_node_info; SFU placement later)"),
      make_str("server", "trusted_proxies", &C::server, &C::Server::trusted_proxies,
               "reverse proxies (comma-separated addresses/CIDRs) whose X-Forwarded-For names "
               "the client; empty: none",
               [](const std::string& k, const std::string& v) {
                 try {
                   (void)TrustedProxies::parse(v);
                 } catch (const std::invalid_argument& e) {
                   throw ConfigError(k, e.what());
                 }
               }),
      make_int("server", "max_connections", &C::server, &C::Server::max_connections, 0, 10000000,
               "open HTTP/WebSocket connections before idle ones are shed for new ones (0: the "
               "descriptor limit minus headroom)"),
      make_int("server", "ws_identify_timeout", &C::server, &C::Server::ws_identify_timeout, 1, 600,
               "seconds a /gateway or /voice socket may stay unidentified (closed 4003)"),
      make_int("server", "ws_max_send_bytes", &C::server, &C::Server::ws_max_send_bytes, 65536,
               1 << 30, "bytes queued to one WebSocket before it is closed as a slow consumer"),
      make_str("database", "url", &C::database, &C::Database::url,
               "sqlite:///path/file.db or postgres://user@host:port/db (default: "
               "sqlite in data_dir)",
               [](const std::string& k, const std::string& v) {
                 if (!v.empty() && v.rfind("sqlite://", 0) != 0 && v.rfind("postgres://", 0) != 0 &&
                     v.rfind("postgresql://", 0) != 0)
                   throw ConfigError(k, "must start with sqlite:// or postgres://");
               }),
      make_str("auth", "token_secret", &C::auth, &C::Auth::token_secret,
               "HMAC key for access tokens (empty: generated into data_dir)", check_secret),
      make_str("auth", "voice_key", &C::auth, &C::Auth::voice_key,
               "secret the Ed25519 voice-token key is derived from (empty: generated into "
               "data_dir)",
               check_secret),
      make_str("auth", "voice_public_key", &C::auth, &C::Auth::voice_public_key,
               "Ed25519 public key (base64url) SFU nodes verify voice tokens with; `hype keys` "
               "prints it (empty: derived from voice_key)",
               [](const std::string& k, const std::string& v) {
                 std::string raw;
                 if (!v.empty() && (!base64url_decode(v, raw) || raw.size() != 32))
                   throw ConfigError(k, "must be 32 bytes in base64url (what `hype keys` prints)");
               }),
      make_int("auth", "access_ttl", &C::auth, &C::Auth::access_ttl, 30, 86400,
               "access token lifetime, seconds"),
      make_int("auth", "refresh_ttl", &C::auth, &C::Auth::refresh_ttl, 60, 365 * 86400,
               "refresh token lifetime, seconds"),
      make_int("auth", "argon2_ops", &C::auth, &C::Auth::argon2_ops, 1, 10,
               "Argon2id passes (libsodium opslimit)"),
      make_int("auth", "argon2_mem_kib", &C::auth, &C::Auth::argon2_mem_kib, 8192, 4 << 20,
               "Argon2id memory in KiB"),
      make_str("voice", "mode", &C::voice, &C::Voice::mode,
               "auto (P2P up to p2p_max_users, then SFU), p2p or sfu",
               [](const std::string& k, const std::string& v) {
                 check_one_of(k, v, {"auto", "p2p", "sfu"});
               }),
      make_int("voice", "p2p_max_users", &C::voice, &C::Voice::p2p_max_users, 2, 16,
               "largest channel kept peer to peer in auto mode"),
      make_int("voice", "token_ttl", &C::voice, &C::Voice::token_ttl, 10, 3600,
               "voice token lifetime, seconds"),
      make_int("voice", "sfu_return_delay", &C::voice, &C::Voice::sfu_return_delay, 0, 86400,
               "seconds a channel stays at or below p2p_max_users-2 before going back to P2P"),
      make_int("voice", "max_forwarded_speakers", &C::voice, &C::Voice::max_forwarded_speakers, 1,
               16, "SFU: loudest speakers forwarded to each listener (last-N audio slots)"),
      make_int("sfu", "workers", &C::sfu, &C::Sfu::workers, 0, 256,
               "SFU media worker threads, each with its own UDP port (0: one per core)"),
      make_int("sfu", "port", &C::sfu, &C::Sfu::port, 0, 65535,
               "UDP port of the first SFU worker, the next ones count up (0: ephemeral)"),
      make_str("sfu", "announced_ip", &C::sfu, &C::Sfu::announced_ip,
               "address clients reach the SFU at (ICE candidates)",
               [](const std::string& k, const std::string& v) {
                 if (v.empty()) throw ConfigError(k, "must not be empty");
               }),
      make_int("sfu", "announced_port", &C::sfu, &C::Sfu::announced_port, 0, 65535,
               "UDP port put in ICE candidates, e.g. a relay's or a NAT's forwarded port (0: "
               "the worker's bound port; only with sfu.workers = 1)"),
      make_str("sfu", "bind_ip", &C::sfu, &C::Sfu::bind_ip, "address SFU UDP sockets bind to"),
      make_int("sfu", "capacity", &C::sfu, &C::Sfu::capacity, 0, 1000000,
               "participants this SFU node takes; at it, cluster placement sends new channels "
               "elsewhere (0: no limit)"),
      make_int("sfu", "drain_timeout", &C::sfu, &C::Sfu::drain_timeout, 0, 3600,
               "seconds an SFU node of a cluster (cluster.redis_url) drains on SIGTERM: its "
               "channels move to other nodes and their clients follow before it stops (0: stop "
               "at once)"),
      make_bool("sfu", "audio_red", &C::sfu, &C::Sfu::audio_red,
                "accept RED (RFC 2198) Opus with redundancy from clients that offer it, forward it "
                "to listeners that accept it and unwrap it for the others"),
      make_bool("sfu", "audio_nack", &C::sfu, &C::Sfu::audio_nack,
                "answer generic NACK on audio where a client offers it: the SFU asks publishers "
                "again for audio it lost and resends what listeners lost"),
      make_int("sfu", "audio_ptime", &C::sfu, &C::Sfu::audio_ptime, 0, 60,
               "milliseconds of audio per Opus packet the SFU asks clients to send (a=ptime): 10 "
               "takes 4-21 ms off p95 mouth-to-ear on jittery links at twice the packets (server "
               "CPU, ~30 % more bytes); 20 is the browsers' own; 0: ask nothing"),
      make_int("sfu", "audio_ptime_busy_at", &C::sfu, &C::Sfu::audio_ptime_busy_at, 0, 1000000,
               "sessions (voice and screen-share connections) on one media worker from which "
               "clients joining it are asked for 20 ms packets instead of sfu.audio_ptime (half "
               "the packets to forward where the worker's core is busy); 0: always "
               "sfu.audio_ptime"),
      make_str("turn", "secret", &C::turn, &C::Turn::secret,
               "coturn static-auth-secret for TURN REST credentials (empty: no TURN)"),
      make_str("turn", "urls", &C::turn, &C::Turn::urls,
               "comma separated TURN URLs, e.g. turn:turn.example.org:3478"),
      make_str("turn", "stun_urls", &C::turn, &C::Turn::stun_urls, "comma separated STUN URLs"),
      make_int("turn", "ttl", &C::turn, &C::Turn::ttl, 60, 7 * 86400,
               "TURN credential lifetime, seconds"),
      make_int("gateway", "heartbeat_interval", &C::gateway, &C::Gateway::heartbeat_interval, 1000,
               600000, "milliseconds between client heartbeats"),
      make_int("gateway", "resume_window", &C::gateway, &C::Gateway::resume_window, 0, 3600,
               "seconds a dropped gateway session can be resumed"),
      make_int("gateway", "replay_buffer", &C::gateway, &C::Gateway::replay_buffer, 10, 100000,
               "events kept per session for resume"),
      make_int("gateway", "max_send_queue", &C::gateway, &C::Gateway::max_send_queue, 10, 1000000,
               "queued frames before a slow client is disconnected (/gateway and /voice)"),
      make_int("gateway", "max_frame_bytes", &C::gateway, &C::Gateway::max_frame_bytes, 1024,
               1 << 24, "largest WebSocket frame accepted from a client (/gateway and /voice)"),
      make_int("gateway", "max_sessions_per_user", &C::gateway, &C::Gateway::max_sessions_per_user,
               1, 10000, "gateway sessions (attached or resumable) one user may hold"),
      make_bool("limits", "enabled", &C::limits, &C::Limits::enabled,
                "rate limits on (turn off only for load tests)"),
      make_int("limits", "max_body_bytes", &C::limits, &C::Limits::max_body_bytes, 1024, 1 << 28,
               "largest HTTP request body"),
      make_rate("limits", "ip", &C::limits, &C::Limits::ip,
                "requests without a valid access token, per client address"),
      make_rate("limits", "user", &C::limits, &C::Limits::user,
                "requests with a valid access token, per user (wherever they come from)"),
      make_rate("limits", "auth", &C::limits, &C::Limits::auth,
                "register/login attempts per client address"),
      make_rate("limits", "refresh", &C::limits, &C::Limits::refresh,
                "token refresh/logout per client address"),
      make_rate("limits", "login_pair", &C::limits, &C::Limits::login_pair,
                "failed logins per account and client address"),
      make_rate("limits", "login_account", &C::limits, &C::Limits::login_account,
                "failed logins per account from all addresses; when spent, only addresses "
                "that signed in to it before are checked"),
      make_rate("limits", "messages", &C::limits, &C::Limits::messages,
                "messages created per user"),
      make_rate("limits", "gateway", &C::limits, &C::Limits::gateway,
                "frames per WebSocket connection, /gateway and /voice"),
      make_rate("limits", "identify", &C::limits, &C::Limits::identify,
                "gateway identifies per client address and per user"),
      make_int("limits", "ws_unauthenticated_per_ip", &C::limits,
               &C::Limits::ws_unauthenticated_per_ip, 0, 1000000,
               "WebSockets not identified yet per client address (0: no cap)"),
      make_str("log", "level", &C::log, &C::Log::level, "trace, debug, info, warn, error",
               [](const std::string& k, const std::string& v) {
                 check_one_of(k, v, {"trace", "debug", "info", "warn", "error", "off"});
               }),
      make_str("log", "format", &C::log, &C::Log::format,
               "text (one line per event) or json (one JSON object per line)",
               [](const std::string& k, const std::string& v) {
                 check_one_of(k, v, {"text", "json"});
               }),
      make_str("cluster", "redis_url", &C::cluster, &C::Cluster::redis_url,
               "redis://[:password@]host[:port][/db] shared by the nodes of a cluster (SFU "
               "placement); empty: one process",
               [](const std::string& k, const std::string& v) {
                 if (!v.empty() && v.rfind("redis://", 0) != 0)
                   throw ConfigError(k, "must start with redis://");
               }),
      make_str("cluster", "nearby_regions", &C::cluster, &C::Cluster::nearby_regions,
               "each region's nearest other regions, nearest first (\"eu=us,ap; us=eu,ap\"): "
               "where a channel goes when its own region has no SFU node with room",
               [](const std::string& k, const std::string& v) { parse_nearby_regions(k, v); }),
      make_int("cluster", "event_history", &C::cluster, &C::Cluster::event_history, 0, 10'000'000,
               "events kept in the cluster's Redis event stream: how far back a gateway client "
               "can resume on another node; 0: events on pub/sub, resume only on the same node"),
      make_str("telemetry", "otlp_endpoint", &C::telemetry, &C::Telemetry::otlp_endpoint,
               "OTLP/HTTP JSON traces endpoint (http://host:port/v1/traces); empty: no traces",
               [](const std::string& k, const std::string& v) {
                 if (!v.empty() && v.rfind("http://", 0) != 0)
                   throw ConfigError(k,
                                     "expected http://host:port/path (no TLS: a local "
                                     "collector), got \"" +
                                         v + "\"");
               }),
  };
  return d;
}

std::string env_name(const KeyDef& d) {
  std::string s = std::string("HYPE_") + d.section + "_" + d.key;
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Config finish(const toml::table& tbl, const std::function<const char*(const char*)>& getenv) {
  Config c;
  // Unknown sections and keys are errors: a typo must not silently fall back to a default.
  for (auto&& [sec_name, sec_node] : tbl) {
    std::string sec(sec_name.str());
    auto* sec_tbl = sec_node.as_table();
    if (!sec_tbl) throw ConfigError(sec, "expected a [section]");
    for (auto&& [key_name, node] : *sec_tbl) {
      std::string key(key_name.str());
      const KeyDef* found = nullptr;
      for (auto& d : defs())
        if (sec == d.section && key == d.key) found = &d;
      if (!found) throw ConfigError(sec + "." + key, "unknown key");
      found->set_toml(c, node);
    }
  }
  for (auto& d : defs()) {
    std::string env = env_name(d);
    if (const char* v = getenv(env.c_str())) d.set(c, v);
  }
  // Every worker has its own port, so one announced port can only name one worker.
  if (c.sfu.announced_port != 0 && c.sfu.workers != 1)
    throw ConfigError("sfu.announced_port", "needs sfu.workers = 1 (one port names one worker)");
  return c;
}

}  // namespace

bool is_region_name(const std::string& s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::map<std::string, std::vector<std::string>> parse_nearby_regions(const std::string& key,
                                                                     const std::string& s) {
  auto trim = [](std::string v) {
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return v;
  };
  auto split = [](const std::string& v, char sep) {
    std::vector<std::string> parts(1);
    for (char c : v) {
      if (c == sep)
        parts.emplace_back();
      else
        parts.back() += c;
    }
    return parts;
  };
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& entry : split(s, ';')) {
    if (trim(entry).empty()) continue;
    auto eq = entry.find('=');
    std::string region = trim(entry.substr(0, eq));
    if (eq == std::string::npos || !is_region_name(region))
      throw ConfigError(key, fmt::format("expected region=near,nearer...; got \"{}\"", entry));
    if (out.contains(region)) throw ConfigError(key, fmt::format("region {} twice", region));
    auto& near = out[region];
    for (const std::string& n : split(entry.substr(eq + 1), ',')) {
      std::string r = trim(n);
      if (!is_region_name(r) || r == region)
        throw ConfigError(key, fmt::format("\"{}\" is not another region's name", r));
      near.push_back(r);
    }
  }
  return out;
}

std::string format_nearby_regions(const std::map<std::string, std::vector<std::string>>& m) {
  std::string out;
  for (const auto& [region, near] : m) {
    if (!out.empty()) out += ';';
    out += region + '=';
    for (std::size_t i = 0; i < near.size(); ++i) out += (i ? "," : "") + near[i];
  }
  return out;
}

RateBudget parse_rate_budget(const std::string& key, const std::string& s) {
  auto slash = s.find('/');
  auto bad = [&] {
    return ConfigError(key, fmt::format("expected \"N/Ws\" like \"10/60s\", got \"{}\"", s));
  };
  if (slash == std::string::npos || s.empty() || s.back() != 's') throw bad();
  RateBudget b;
  try {
    std::size_t p1 = 0, p2 = 0;
    std::string a = s.substr(0, slash), w = s.substr(slash + 1, s.size() - slash - 2);
    b.tokens = std::stod(a, &p1);
    b.per_seconds = std::stod(w, &p2);
    if (p1 != a.size() || p2 != w.size()) throw bad();
  } catch (const ConfigError&) {
    throw;
  } catch (...) {
    throw bad();
  }
  if (!(b.tokens >= 1) || !(b.per_seconds > 0) || !std::isfinite(b.tokens) ||
      !std::isfinite(b.per_seconds))
    throw ConfigError(key, "needs at least 1 token over a positive number of seconds");
  return b;
}

Config load_config_text(const std::string& text,
                        const std::function<const char*(const char*)>& getenv) {
  toml::table tbl;
  try {
    tbl = toml::parse(text);
  } catch (const toml::parse_error& e) {
    throw ConfigError("file", fmt::format("line {}: {}", e.source().begin.line, e.description()));
  }
  return finish(tbl, getenv);
}

Config load_config(const std::string& path, const std::function<const char*(const char*)>& getenv) {
  if (path.empty()) return finish(toml::table{}, getenv);
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw ConfigError("file",
                      fmt::format("{} line {}: {}", path, e.source().begin.line, e.description()));
  }
  return finish(tbl, getenv);
}

std::vector<ConfigKeyInfo> config_keys() {
  Config defaults;
  std::vector<ConfigKeyInfo> out;
  for (auto& d : defs())
    out.push_back({full_name(d), env_name(d), d.type, d.get(defaults), d.help});
  return out;
}

std::string config_help() {
  std::string out = "Configuration keys (TOML [section] key, or environment variable):\n";
  for (auto& k : config_keys())
    out += fmt::format("  {:<26} {:<30} {} (default: {})\n", k.name, k.env, k.help,
                       k.default_value.empty() ? "\"\"" : k.default_value);
  return out;
}

std::string Config::effective_public_url() const {
  if (!server.public_url.empty()) return server.public_url;
  return fmt::format("http://{}:{}", server.host, server.port);
}

std::string Config::effective_database_url() const {
  if (!database.url.empty()) return database.url;
  return "sqlite://" + server.data_dir + "/hype.db";
}

Roles parse_roles(const std::string& list) {
  Roles r;
  auto trim = [](std::string x) {
    auto b = x.find_first_not_of(" \t");
    auto e = x.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : x.substr(b, e - b + 1);
  };
  std::string all = trim(list);
  if (all.empty() || all == "all") return Roles{true, true, true, true};
  std::size_t i = 0;
  while (i <= all.size()) {
    auto j = all.find(',', i);
    if (j == std::string::npos) j = all.size();
    std::string name = trim(all.substr(i, j - i));
    if (name == "api")
      r.api = true;
    else if (name == "gateway")
      r.gateway = true;
    else if (name == "sfu")
      r.sfu = true;
    else if (name == "analytics")
      r.analytics = true;
    else if (name == "all")
      r = Roles{true, true, true, true};
    else
      throw std::invalid_argument(
          "unknown role '" + name +
          "' (roles: all, or a comma list of api, gateway, sfu, analytics)");
    i = j + 1;
  }
  return r;
}

std::string Roles::describe() const {
  std::string out;
  for (auto [on, name] :
       {std::pair{api, "api"}, {gateway, "gateway"}, {sfu, "sfu"}, {analytics, "analytics"}})
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  return out;
}

}  // namespace hype
