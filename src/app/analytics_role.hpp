// The `analytics` role: consumes voice events from the EventLog into the store's rollups
// (voice/analytics.hpp), about once a second, on the domain's blocking pool. Any number of
// processes may run it against one database: applying is idempotent by event id, so two
// consumers reading the same outbox rows count them once.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include "app/domain.hpp"
#include "core/metrics.hpp"
#include "voice/analytics.hpp"

namespace hype::app {

class AnalyticsRole {
 public:
  explicit AnalyticsRole(Domain& domain);
  void start();
  void stop();  // before the event loop stops

 private:
  void tick();
  void consume();  // on the blocking pool

  Domain& domain_;
  voice::AnalyticsConsumer consumer_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  std::int64_t last_prune_ms_ = 0;
  metrics::Counter& applied_;
  metrics::Counter& duplicate_;
  metrics::Gauge& lag_;
};

}  // namespace hype::app
