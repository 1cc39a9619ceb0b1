#include <gtest/gtest.h>

#include <map>

#include "core/config.hpp"

using namespace hype;

namespace {
auto env_of(std::map<std::string, std::string> m) {
  return [m = std::move(m)](const char* k) -> const char* {
    auto it = m.find(k);
    return it == m.end() ? nullptr : it->second.c_str();
  };
}
std::string error_key(const std::string& toml, std::map<std::string, std::string> env = {}) {
  try {
    load_config_text(toml, env_of(env));
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "<none>";
}
}  // namespace

TEST(Config, DefaultsAreUsable) {
  Config c = load_config_text("", env_of({}));
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.voice.mode, "auto");
  EXPECT_EQ(c.voice.p2p_max_users, 8);
  EXPECT_TRUE(c.limits.enabled);
  EXPECT_EQ(c.effective_database_url(), "sqlite://./data/hype.db");
  EXPECT_EQ(c.effective_public_url(), "http://127.0.0.1:8080");
}

TEST(Config, FileThenEnvironmentOverrides) {
  Config c = load_config_text(
      "[voice]\nmode = \"p2p\"\np2p_max_users = 6\n[database]\nurl = \"postgres://x@h/db\"\n",
      env_of({{"HYPE_VOICE_MODE", "sfu"},
              {"HYPE_LIMITS_ENABLED", "false"},
              {"HYPE_LIMITS_AUTH", "3/10s"}}));
  EXPECT_EQ(c.voice.mode, "sfu");  // env wins over the file
  EXPECT_EQ(c.voice.p2p_max_users, 6);
  EXPECT_EQ(c.database.url, "postgres://x@h/db");
  EXPECT_FALSE(c.limits.enabled);
  EXPECT_DOUBLE_EQ(c.limits.auth.tokens, 3);
  EXPECT_DOUBLE_EQ(c.limits.auth.per_seconds, 10);
}

TEST(Config, BadValuesNameTheKey) {
  EXPECT_EQ(error_key("[voice]\nmode = \"mesh\"\n"), "voice.mode");
  EXPECT_EQ(error_key("[server]\nport = 70000\n"), "server.port");
  EXPECT_EQ(error_key("[server]\nport = \"80\"\n"), "server.port");
  EXPECT_EQ(error_key("[server]\nprot = 80\n"), "server.prot");
  EXPECT_EQ(error_key("", {{"HYPE_VOICE_P2P_MAX_USERS", "eight"}}), "voice.p2p_max_users");
  EXPECT_EQ(error_key("", {{"HYPE_LIMITS_ENABLED", "maybe"}}), "limits.enabled");
  EXPECT_EQ(error_key("", {{"HYPE_LIMITS_IP", "10"}}), "limits.ip");
  EXPECT_EQ(error_key("", {{"HYPE_DATABASE_URL", "mysql://x"}}), "database.url");
  EXPECT_EQ(error_key("", {{"HYPE_AUTH_TOKEN_SECRET", "short"}}), "auth.token_secret");
  EXPECT_EQ(error_key("", {{"HYPE_AUTH_VOICE_KEY", "short"}}), "auth.voice_key");
  EXPECT_EQ(error_key("", {{"HYPE_AUTH_VOICE_PUBLIC_KEY", "abc"}}), "auth.voice_public_key");
  EXPECT_EQ(error_key("[auth]\nvoice_public_key = \"" + std::string(43, '*') + "\"\n"),
            "auth.voice_public_key");
  EXPECT_EQ(error_key("[voice\nmode="), "file");
  EXPECT_EQ(error_key("", {{"HYPE_SERVER_TRUSTED_PROXIES", "10.0.0.0/40"}}),
            "server.trusted_proxies");
  EXPECT_EQ(error_key("[server]\ntrusted_proxies = \"nginx\"\n"), "server.trusted_proxies");
  EXPECT_EQ(error_key("", {{"HYPE_LIMITS_LOGIN_ACCOUNT", "0/60s"}}), "limits.login_account");
}

TEST(Config, TrustedProxiesAndLoginBudgets) {
  Config d = load_config_text("", env_of({}));
  EXPECT_EQ(d.server.trusted_proxies, "");
  EXPECT_DOUBLE_EQ(d.limits.login_pair.tokens, 5);
  EXPECT_DOUBLE_EQ(d.limits.login_account.per_seconds, 3600);
  Config c = load_config_text("[server]\ntrusted_proxies = \"127.0.0.1, ::1\"\n",
                              env_of({{"HYPE_LIMITS_REFRESH", "7/60s"}}));
  EXPECT_EQ(c.server.trusted_proxies, "127.0.0.1, ::1");
  EXPECT_DOUBLE_EQ(c.limits.refresh.tokens, 7);
  c = load_config_text("", env_of({{"HYPE_SERVER_TRUSTED_PROXIES", "10.0.0.0/8"}}));
  EXPECT_EQ(c.server.trusted_proxies, "10.0.0.0/8");
}

TEST(Config, HelpListsEveryKeyWithItsVariable) {
  std::string help = config_help();
  for (auto& k : config_keys()) {
    EXPECT_NE(help.find(k.name), std::string::npos) << k.name;
    EXPECT_NE(help.find(k.env), std::string::npos) << k.env;
  }
  EXPECT_NE(help.find("HYPE_VOICE_MODE"), std::string::npos);
  EXPECT_NE(help.find("HYPE_DATABASE_URL"), std::string::npos);
}

TEST(Config, ShippedExampleConfigLoads) {
  Config c = load_config(std::string(HYPE_SOURCE_DIR) + "/deploy/hype.example.toml", env_of({}));
  Config defaults = load_config_text("", env_of({}));
  EXPECT_EQ(c.server.port, defaults.server.port);
  EXPECT_EQ(c.voice.mode, defaults.voice.mode);
  EXPECT_DOUBLE_EQ(c.limits.auth.tokens, defaults.limits.auth.tokens);
}

TEST(Config, MaxForwardedSpeakers) {
  EXPECT_EQ(load_config_text("", env_of({})).voice.max_forwarded_speakers, 3);
  Config c = load_config_text("[voice]\nmax_forwarded_speakers = 5\n",
                              env_of({{"HYPE_VOICE_MAX_FORWARDED_SPEAKERS", "2"}}));
  EXPECT_EQ(c.voice.max_forwarded_speakers, 2);
  EXPECT_EQ(load_config_text("[voice]\nmax_forwarded_speakers = 16\n", env_of({}))
                .voice.max_forwarded_speakers,
            16);
  EXPECT_EQ(error_key("", {{"HYPE_VOICE_MAX_FORWARDED_SPEAKERS", "0"}}),
            "voice.max_forwarded_speakers");
  EXPECT_EQ(error_key("[voice]\nmax_forwarded_speakers = 17\n"), "voice.max_forwarded_speakers");
  Config example =
      load_config(std::string(HYPE_SOURCE_DIR) + "/deploy/hype.example.toml", env_of({}));
  EXPECT_EQ(example.voice.max_forwarded_speakers, 3);
  EXPECT_NE(config_help().find("HYPE_VOICE_MAX_FORWARDED_SPEAKERS"), std::string::npos);
}

TEST(Config, SfuSection) {
  Config d = load_config_text("", env_of({}));
  EXPECT_EQ(d.sfu.workers, 0);
  EXPECT_EQ(d.sfu.port, 0);
  EXPECT_EQ(d.sfu.announced_ip, "127.0.0.1");
  Config c = load_config_text("[sfu]\nworkers = 2\nport = 40000\nannounced_ip = \"10.0.0.5\"\n",
                              env_of({{"HYPE_SFU_PORT", "41000"}}));
  EXPECT_EQ(c.sfu.workers, 2);
  EXPECT_EQ(c.sfu.port, 41000);
  EXPECT_EQ(c.sfu.announced_ip, "10.0.0.5");
  EXPECT_EQ(error_key("", {{"HYPE_SFU_WORKERS", "-1"}}), "sfu.workers");
}

TEST(Config, SfuAnnouncedPortNeedsOneWorker) {
  EXPECT_EQ(load_config_text("", env_of({})).sfu.announced_port, 0);
  Config c = load_config_text("[sfu]\nworkers = 1\nannounced_port = 40100\n", env_of({}));
  EXPECT_EQ(c.sfu.announced_port, 40100);
  Config e = load_config_text(
      "", env_of({{"HYPE_SFU_WORKERS", "1"}, {"HYPE_SFU_ANNOUNCED_PORT", "40200"}}));
  EXPECT_EQ(e.sfu.announced_port, 40200);
  // One announced port cannot name several workers (0 is one per core).
  EXPECT_EQ(error_key("[sfu]\nannounced_port = 40100\n"), "sfu.announced_port");
  EXPECT_EQ(error_key("[sfu]\nworkers = 2\nannounced_port = 40100\n"), "sfu.announced_port");
  EXPECT_EQ(error_key("[sfu]\nworkers = 1\nannounced_port = 70000\n"), "sfu.announced_port");
}

TEST(Config, ConnectionLimitKeys) {
  Config d = load_config_text("", env_of({}));
  EXPECT_EQ(d.server.max_connections, 0);
  EXPECT_EQ(d.server.ws_identify_timeout, 10);
  EXPECT_EQ(d.server.ws_max_send_bytes, 8 << 20);
  EXPECT_EQ(d.gateway.max_sessions_per_user, 20);
  EXPECT_EQ(d.limits.ws_unauthenticated_per_ip, 50);
  EXPECT_DOUBLE_EQ(d.limits.identify.tokens, 30);
  Config c = load_config_text(
      "[gateway]\nmax_sessions_per_user = 5\n",
      env_of({{"HYPE_SERVER_WS_IDENTIFY_TIMEOUT", "3"}, {"HYPE_LIMITS_IDENTIFY", "4/10s"}}));
  EXPECT_EQ(c.gateway.max_sessions_per_user, 5);
  EXPECT_EQ(c.server.ws_identify_timeout, 3);
  EXPECT_DOUBLE_EQ(c.limits.identify.per_seconds, 10);
  EXPECT_EQ(error_key("", {{"HYPE_SERVER_WS_IDENTIFY_TIMEOUT", "0"}}),
            "server.ws_identify_timeout");
  EXPECT_EQ(error_key("", {{"HYPE_GATEWAY_MAX_SESSIONS_PER_USER", "0"}}),
            "gateway.max_sessions_per_user");
  Config example =
      load_config(std::string(HYPE_SOURCE_DIR) + "/deploy/hype.example.toml", env_of({}));
  EXPECT_EQ(example.gateway.max_sessions_per_user, 20);
  EXPECT_EQ(example.limits.ws_unauthenticated_per_ip, 50);
  EXPECT_EQ(example.server.ws_max_send_bytes, 8 << 20);
}

TEST(Config, RolesAreValidated) {
  Roles all = parse_roles("all");
  EXPECT_TRUE(all.api && all.gateway && all.sfu && all.analytics);
  EXPECT_TRUE(parse_roles("").all());
  Roles sfu = parse_roles(" sfu ");
  EXPECT_TRUE(sfu.sfu);
  EXPECT_FALSE(sfu.api || sfu.gateway);
  EXPECT_EQ(sfu.describe(), "sfu");
  Roles web = parse_roles("gateway, api");
  EXPECT_EQ(web.describe(), "api,gateway");
  EXPECT_FALSE(web.sfu || web.analytics);
  Roles stats = parse_roles("analytics");
  EXPECT_TRUE(stats.analytics);
  EXPECT_FALSE(stats.api || stats.gateway || stats.sfu || stats.all());
  EXPECT_EQ(stats.describe(), "analytics");
  EXPECT_THROW(parse_roles("api,stream"), std::invalid_argument);
  EXPECT_THROW(parse_roles("api,,sfu"), std::invalid_argument) << "an empty name is no role";
  EXPECT_EQ(load_config_text("[server]\nroles = \"api,sfu\"\n", env_of({})).server.roles,
            "api,sfu");
  EXPECT_EQ(error_key("", {{"HYPE_SERVER_ROLES", "api,media"}}), "server.roles");
}

TEST(Config, LogFormatAndTracesEndpointAreChecked) {
  Config d = load_config_text("", env_of({}));
  EXPECT_EQ(d.log.format, "text");
  EXPECT_EQ(d.telemetry.otlp_endpoint, "");
  Config c = load_config_text(
      "[log]\nformat = \"json\"\n[telemetry]\notlp_endpoint = "
      "\"http://127.0.0.1:4318/v1/traces\"\n",
      env_of({}));
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.telemetry.otlp_endpoint, "http://127.0.0.1:4318/v1/traces");
  EXPECT_EQ(error_key("[log]\nformat = \"xml\"\n"), "log.format");
  EXPECT_EQ(error_key("", {{"HYPE_TELEMETRY_OTLP_ENDPOINT", "https://collector:4318"}}),
            "telemetry.otlp_endpoint");
}

TEST(Config, NearbyRegionsParseValidateAndFormat) {
  Config d = load_config_text("", env_of({}));
  EXPECT_TRUE(parse_nearby_regions("k", d.cluster.nearby_regions).empty());
  Config c =
      load_config_text("[cluster]\nnearby_regions = \" eu = us, ap ; us=eu;\"\n", env_of({}));
  auto m = parse_nearby_regions("cluster.nearby_regions", c.cluster.nearby_regions);
  EXPECT_EQ(
      m, (std::map<std::string, std::vector<std::string>>{{"eu", {"us", "ap"}}, {"us", {"eu"}}}));
  EXPECT_EQ(format_nearby_regions(m), "eu=us,ap;us=eu");
  for (const char* bad : {"eu", "eu=", "eu=eu", "EU=us", "eu=us;eu=ap", "eu=us,,ap", "=us"})
    EXPECT_EQ(error_key("", {{"HYPE_CLUSTER_NEARBY_REGIONS", bad}}), "cluster.nearby_regions")
        << bad;
}
