#include "cluster/metered_placement.hpp"

#include <chrono>
#include <exception>
#include <utility>

namespace hype::cluster {

namespace {

class MeteredPlacement final : public Placement {
 public:
  MeteredPlacement(std::unique_ptr<Placement> inner, metrics::Registry& r)
      : inner_(std::move(inner)),
        decisions_(r.counter("placement_decisions_total",
                             "SFU placement decisions (place()) by outcome: kept, placed, moved, "
                             "none, unavailable",
                             {"outcome"})),
        seconds_(r.histogram("placement_decision_seconds",
                             "Time of one SFU placement decision (place())",
                             {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})
                     .get()),
        moves_(r.counter("placement_moves_total",
                         "Channels moved to another SFU node by the node-expiry sweep or a drain",
                         {"reason"})),
        lost_(r.counter("placement_nodes_lost_total",
                        "SFU nodes that left the registry without withdrawing: heartbeat "
                        "expired, or reported by a client with their connection closed",
                        {"how"})) {
    for (const char* o : {"kept", "placed", "moved", "none", "unavailable"}) decisions_.with({o});
    for (const char* m : {"sweep", "drain"}) moves_.with({m});
    for (const char* h : {"expired", "reported"}) lost_.with({h});
  }

  Task<bool> async_announce(SfuNode node) override {
    co_return co_await inner_->async_announce(std::move(node));
  }
  Task<void> async_withdraw(std::string node_id) override {
    co_await inner_->async_withdraw(std::move(node_id));
  }
  Task<std::optional<Placed>> async_place(Id channel_id, std::optional<std::string> region,
                                          std::string prefer_node) override {
    const auto start = std::chrono::steady_clock::now();
    std::optional<Placed> p;
    std::exception_ptr error;
    try {
      p = co_await inner_->async_place(channel_id, std::move(region), std::move(prefer_node));
    } catch (...) {
      error = std::current_exception();
    }
    seconds_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    const char* outcome = error                    ? "unavailable"
                          : !p                     ? "none"
                          : !p->moved_from.empty() ? "moved"
                          : p->decided             ? "placed"
                                                   : "kept";
    decisions_.with({outcome}).inc();
    if (error) std::rethrow_exception(error);
    co_return p;
  }
  Task<std::optional<Placed>> async_lookup(Id channel_id) override {
    co_return co_await inner_->async_lookup(channel_id);
  }
  Task<bool> async_release(Id channel_id, std::uint64_t epoch) override {
    co_return co_await inner_->async_release(channel_id, epoch);
  }
  Task<bool> async_report_unreachable(std::string node_id) override {
    bool gone = co_await inner_->async_report_unreachable(std::move(node_id));
    if (gone) lost_.with({"reported"}).inc();
    co_return gone;
  }
  Task<std::optional<Placed>> async_move(Id channel_id, std::string from_node,
                                         std::optional<std::string> region) override {
    auto p = co_await inner_->async_move(channel_id, std::move(from_node), std::move(region));
    if (p) moves_.with({"drain"}).inc();
    co_return p;
  }
  Task<std::vector<Placed>> async_claim(std::string node_id, std::vector<Id> channels) override {
    co_return co_await inner_->async_claim(std::move(node_id), std::move(channels));
  }
  Task<Swept> async_sweep(int max) override {
    Swept s = co_await inner_->async_sweep(max);
    moves_.with({"sweep"}).inc(static_cast<double>(s.moved.size()));
    lost_.with({"expired"}).inc(static_cast<double>(s.expired.size()));
    co_return s;
  }

 private:
  std::unique_ptr<Placement> inner_;
  metrics::Family<metrics::Counter>& decisions_;
  metrics::Histogram& seconds_;
  metrics::Family<metrics::Counter>& moves_;
  metrics::Family<metrics::Counter>& lost_;
};

}  // namespace

std::unique_ptr<Placement> make_metered_placement(std::unique_ptr<Placement> inner,
                                                  metrics::Registry& registry) {
  return std::make_unique<MeteredPlacement>(std::move(inner), registry);
}

}  // namespace hype::cluster
