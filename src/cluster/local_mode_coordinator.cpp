#include <mutex>
#include <unordered_map>

#include "cluster/mode_coordinator.hpp"

namespace hype::cluster {

namespace {

// The policy and the guild of each tracked channel under one mutex; never suspends.
class LocalModeCoordinator final : public ModeCoordinator {
 public:
  explicit LocalModeCoordinator(ModePolicy::Options o) : policy_(std::move(o)) {}

  Task<std::optional<ModeUpdate>> async_on_count(Id channel_id, Id guild_id, int count,
                                                 std::int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (count > 0)
      guild_of_[channel_id] = guild_id;
    else
      guild_of_.erase(channel_id);
    std::optional<ModeUpdate> out;
    if (auto m = policy_.on_count(channel_id, count, now_ms))
      out = ModeUpdate{channel_id, guild_id, *m};
    co_return out;
  }

  Task<VoiceMode> async_mode(Id channel_id) override {
    std::lock_guard lock(mu_);
    co_return policy_.mode(channel_id);
  }

  Task<std::vector<ModeUpdate>> async_tick(std::int64_t now_ms) override {
    std::lock_guard lock(mu_);
    std::vector<ModeUpdate> out;
    for (auto& ch : policy_.tick(now_ms)) {
      // A channel the policy tracks always has participants, hence a guild; skip defensively.
      auto g = guild_of_.find(ch.channel_id);
      if (g != guild_of_.end()) out.push_back({ch.channel_id, g->second, ch.mode});
    }
    co_return out;
  }

 private:
  std::mutex mu_;
  ModePolicy policy_;
  std::unordered_map<Id, Id> guild_of_;  // channel -> guild, for channels with participants
};

}  // namespace

std::unique_ptr<ModeCoordinator> make_local_mode_coordinator(ModePolicy::Options options) {
  return std::make_unique<LocalModeCoordinator>(std::move(options));
}

}  // namespace hype::cluster
