// The `hype` command: serve, migrate, keys, cluster status, sfu drain, version.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "app/server.hpp"
#include "core/config.hpp"
#include "core/log.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Hype: self-hostable voice-first community chat"};
  app.require_subcommand(1);
  std::string config_path;
  std::string roles;
  auto* serve =
      app.add_subcommand("serve", "run the server (every role in one process by default)");
  serve->add_option("--config,-c", config_path, "TOML configuration file");
  serve->add_option("--roles", roles,
                    "roles to run: all, or a comma list of api,gateway,sfu,analytics (overrides "
                    "server.roles)");
  serve->footer(hype::config_help());
  auto* migrate = app.add_subcommand("migrate", "apply database migrations and exit");
  migrate->add_option("--config,-c", config_path, "TOML configuration file");
  migrate->footer(hype::config_help());
  auto* keys = app.add_subcommand(
      "keys", "print the voice-token public key SFU nodes need (auth.voice_public_key)");
  keys->add_option("--config,-c", config_path, "TOML configuration file");
  keys->footer(hype::config_help());
  auto* cluster_cmd = app.add_subcommand("cluster", "inspect the cluster (cluster.redis_url)");
  cluster_cmd->require_subcommand(1);
  auto* status = cluster_cmd->add_subcommand(
      "status", "list the SFU nodes in the registry: region, load, channels, last heartbeat");
  status->add_option("--config,-c", config_path, "TOML configuration file");
  auto* sfu_cmd = app.add_subcommand("sfu", "operate the SFU nodes of a cluster");
  sfu_cmd->require_subcommand(1);
  auto* drain = sfu_cmd->add_subcommand(
      "drain",
      "drain an SFU node as SIGTERM does: its channels move to other nodes make before break, "
      "then it exits");
  std::string drain_node;
  int drain_wait = 60;
  drain->add_option("node", drain_node, "the node id (hype cluster status)")->required();
  drain->add_option("--wait", drain_wait, "seconds to wait for it to leave (0: do not wait)")
      ->check(CLI::Range(0, 3600));
  drain->add_option("--config,-c", config_path, "TOML configuration file");
  app.add_subcommand("version", "print the version");
  CLI11_PARSE(app, argc, argv);

  if (app.got_subcommand("version")) {
    std::printf("hype %s\n", HYPE_VERSION);
    return 0;
  }
  hype::Config config;
  try {
    config = hype::load_config(config_path, [](const char* k) { return std::getenv(k); });
    if (!roles.empty()) {
      try {
        (void)hype::parse_roles(roles);
      } catch (const std::invalid_argument& e) {
        throw hype::ConfigError("--roles", e.what());
      }
      config.server.roles = roles;
    }
  } catch (const hype::ConfigError& e) {
    std::fprintf(stderr, "hype: %s\n", e.what());
    return 2;
  }
  hype::init_logging(config.log.level, config.log.format);
  try {
    if (app.got_subcommand("migrate")) return hype::app::run_migrate(config);
    if (app.got_subcommand("keys")) return hype::app::run_keys(config);
    if (app.got_subcommand("cluster")) return hype::app::run_cluster_status(config);
    if (app.got_subcommand("sfu")) return hype::app::run_sfu_drain(config, drain_node, drain_wait);
    return hype::app::run_server(config);
  } catch (const std::exception& e) {
    spdlog::error("fatal: {}", e.what());
    return 1;
  }
}
