// The domain services behind the api, gateway and analytics roles: the store, the voice event
// log, accounts, chat and voice, and the blocking pool they run on. Built only when one of
// those roles runs (an SFU-only node needs no database). Also owns the voice ticker: the mode
// policy's return delay and the voice gauges, on a timer of its own.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "app/node.hpp"
#include "auth/auth_service.hpp"
#include "chat/chat_service.hpp"
#include "cluster/event_log.hpp"
#include "core/ids.hpp"
#include "net/blocking_pool.hpp"
#include "store/store.hpp"
#include "voice/voice_service.hpp"

namespace hype::app {

struct Domain {
  explicit Domain(Node& node);
  ~Domain();
  void start();  // bus subscriptions and the voice ticker
  void stop();   // before the event loop stops; then the pool is joined

  Node& node;
  std::unique_ptr<store::Store> store;
  // Voice events (joins, leaves, mode switches, streams): the store's outbox on this build;
  // a Redis Stream behind the same interface in a cluster.
  std::unique_ptr<cluster::EventLog> events;
  SnowflakeGenerator ids;
  auth::AuthService auth;
  chat::ChatService chat;
  voice::VoiceService voice;
  net::BlockingPool pool;

 private:
  void tick();

  boost::asio::steady_timer ticker_;
  bool stopped_ = false;
  int msg_sub_ = 0;
  int voice_sub_ = 0;
  metrics::Gauge& voice_users_;
  metrics::Gauge& voice_channels_;
};

}  // namespace hype::app
