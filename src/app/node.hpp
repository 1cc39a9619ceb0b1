// What every role of one `hype serve` process shares: the configuration and the roles it
// selected, the event loop, metrics, the token signers, and the cluster seam (EventBus,
// Coordinator, Placement, ModeCoordinator): in-process implementations, or all four on Redis
// when cluster.redis_url is set.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "auth/tokens.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "cluster/mode_coordinator.hpp"
#include "cluster/placement.hpp"
#include "cluster/redis_client.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "telemetry/quality_metrics.hpp"
#include "telemetry/trace.hpp"

namespace hype::app {

struct Node {
  explicit Node(const Config& config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const Config& config;
  Roles roles;
  long fd_limit;
  std::string node_id;  // "node-<server.node_id>": how placements and voice tokens name us
  metrics::Registry registry;
  telemetry::QualityMetrics quality{registry};  // clients' quality reports (gateway and SFU)
  // Voice-join spans over OTLP (telemetry.otlp_endpoint); disabled when that is empty.
  std::unique_ptr<telemetry::Tracer> tracer;
  std::unique_ptr<cluster::EventBus> bus;
  std::unique_ptr<cluster::Coordinator> coord;
  std::unique_ptr<cluster::Placement> placement;
  std::unique_ptr<cluster::ModeCoordinator> modes;
  auth::TokenSigner signer;  // access tokens (HS256)
  // Mints voice tokens: every node that builds a Domain (api, gateway, analytics); null on an
  // SFU-only node given auth.voice_public_key (it holds no private key).
  std::unique_ptr<auth::VoiceTokenSigner> voice_signer;
  // Verifies voice tokens (the sfu role): auth.voice_public_key, or voice_signer's own key.
  auth::VoiceTokenVerifier voice_verifier;
  int io_threads;
  boost::asio::io_context io;
  // cluster.redis_url: the connection every shared seam uses (events, placement, Coordinator,
  // ModeCoordinator), and the event bus's subscription. Null without Redis.
  std::unique_ptr<cluster::RedisClient> redis;
  std::unique_ptr<cluster::RedisClient> redis_events;
};

// The voice-token signer of this configuration (auth.voice_key, else the key kept in data_dir,
// created if missing), or null on an SFU-only node given auth.voice_public_key.
std::unique_ptr<auth::VoiceTokenSigner> make_voice_signer(const Config& config);

// Open HTTP/WebSocket connections this process accepts, under its descriptor limit.
int connection_cap(const Config& config, long fd_limit);

}  // namespace hype::app
