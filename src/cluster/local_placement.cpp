#include <mutex>
#include <unordered_map>
#include <vector>

#include "cluster/placement.hpp"

namespace hype::cluster {

namespace {

// In memory, one mutex; completes without suspending. Holds a list of nodes so that tests
// (and a future in-process multi-node simulation) can exercise re-placement, although one
// process announces one node.
class LocalPlacement final : public Placement {
 public:
  Task<bool> async_announce(SfuNode node) override {
    std::lock_guard lock(mu_);
    for (auto& n : nodes_)
      if (n.id == node.id) {
        n = std::move(node);
        co_return false;
      }
    nodes_.push_back(std::move(node));
    co_return false;
  }

  Task<void> async_withdraw(std::string node_id) override {
    std::lock_guard lock(mu_);
    std::erase_if(nodes_, [&](const SfuNode& n) { return n.id == node_id; });
    std::erase_if(placed_, [&](const auto& kv) { return kv.second.node.id == node_id; });
    co_return;
  }

  // One process announces one node: `prefer_node` is that node or unknown.
  Task<std::optional<Placed>> async_place(Id channel_id, std::optional<std::string> region,
                                          std::string) override {
    std::lock_guard lock(mu_);
    auto it = placed_.find(channel_id);
    if (it != placed_.end()) {
      if (const SfuNode* n = node_locked(it->second.node.id)) {
        it->second.node = *n;  // url or region may have changed on re-announce
        co_return it->second;
      }
    }
    const SfuNode* pick = nullptr;
    for (auto& n : nodes_)
      if (region && n.region == *region) {
        pick = &n;
        break;
      }
    if (!pick && !nodes_.empty()) pick = &nodes_.front();
    if (!pick) co_return std::nullopt;
    Placed p{channel_id, *pick, ++epoch_};
    placed_[channel_id] = p;
    p.decided = true;
    co_return p;
  }

  Task<std::optional<Placed>> async_lookup(Id channel_id) override {
    std::lock_guard lock(mu_);
    auto it = placed_.find(channel_id);
    if (it == placed_.end()) co_return std::nullopt;
    co_return it->second;
  }

  Task<bool> async_release(Id channel_id, std::uint64_t epoch) override {
    std::lock_guard lock(mu_);
    auto it = placed_.find(channel_id);
    if (it == placed_.end() || it->second.epoch != epoch) co_return false;
    placed_.erase(it);
    co_return true;
  }
  // One process: the node is this process itself, alive by definition.
  Task<bool> async_report_unreachable(std::string) override { co_return false; }
  // One node: nothing can move elsewhere.
  Task<std::vector<Placed>> async_claim(std::string, std::vector<Id>) override {
    co_return std::vector<Placed>{};
  }

  Task<Swept> async_sweep(int) override { co_return Swept{}; }

  Task<std::optional<Placed>> async_move(Id, std::string, std::optional<std::string>) override {
    co_return std::nullopt;
  }

 private:
  const SfuNode* node_locked(const std::string& id) const {
    for (auto& n : nodes_)
      if (n.id == id) return &n;
    return nullptr;
  }

  std::mutex mu_;
  std::vector<SfuNode> nodes_;
  std::unordered_map<Id, Placed> placed_;
  // One counter for every channel: epochs only need to grow per channel, and a process-wide
  // counter never repeats an epoch even after a release and a new placement.
  std::uint64_t epoch_ = 0;
};

}  // namespace

std::unique_ptr<Placement> make_local_placement() {
  return std::make_unique<LocalPlacement>();
}

}  // namespace hype::cluster
