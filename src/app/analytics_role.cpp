#include "app/analytics_role.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "core/clock.hpp"
#include "voice/store_event_log.hpp"

namespace hype::app {

namespace asio = boost::asio;

namespace {

constexpr int kBatch = 500;
constexpr int kBatchesPerTick = 20;  // then the next tick: others get the pool too
constexpr std::int64_t kPruneEveryMs = 3'600'000;
// Applied ids are kept this long: far longer than an unacknowledged event can wait.
constexpr std::int64_t kKeepProcessedMs = 7 * voice::kMsPerDay;

metrics::Family<metrics::Counter>& events_family(metrics::Registry& reg) {
  return reg.counter("analytics_events_total",
                     "voice events consumed by the analytics role: applied to the rollups, or "
                     "duplicate (delivered again, already counted)",
                     {"result"});
}

}  // namespace

AnalyticsRole::AnalyticsRole(Domain& d)
    : domain_(d),
      consumer_(*d.events, *d.store, voice::kAnalyticsGroup),
      timer_(asio::make_strand(d.node.io)),
      applied_(events_family(d.node.registry).with({"applied"})),
      duplicate_(events_family(d.node.registry).with({"duplicate"})),
      lag_(d.node.registry
               .gauge("analytics_lag_seconds",
                      "age of the oldest voice event the analytics role found waiting at its "
                      "last poll (0: none waiting)")
               .get()) {}

void AnalyticsRole::start() {
  tick();
}

void AnalyticsRole::stop() {
  asio::post(timer_.get_executor(), [this] {
    stopped_ = true;
    timer_.cancel();
  });
}

void AnalyticsRole::tick() {
  if (stopped_) return;
  asio::post(domain_.pool.executor(), [this] { consume(); });
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

void AnalyticsRole::consume() {
  try {
    double lag = 0;
    for (int i = 0; i < kBatchesPerTick; ++i) {
      auto r = consumer_.poll(kBatch, unix_ms());
      if (i == 0) lag = r.lag_seconds;
      applied_.inc(r.applied);
      duplicate_.inc(r.duplicates);
      if (r.read < kBatch) break;
    }
    lag_.set(lag);
    std::int64_t now = unix_ms();
    if (now - last_prune_ms_ >= kPruneEveryMs) {
      last_prune_ms_ = now;
      domain_.store->prune_analytics_processed(now - kKeepProcessedMs);
    }
  } catch (const std::exception& e) {
    spdlog::warn("analytics: consuming voice events failed: {}", e.what());
  }
}

}  // namespace hype::app
