#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "cluster/coordinator.hpp"
#include "cluster/rate_limiter.hpp"
#include "core/clock.hpp"

namespace hype::cluster {

namespace {

// Every operation completes under the mutex without suspending: the awaitable forms are
// coroutines that return at once, so callers on the event loop never leave their thread.
class LocalCoordinator final : public Coordinator {
 public:
  Task<RateDecision> async_take(std::string key, RateBudget budget, double cost) override {
    co_return limiter_.take(key, budget, cost, now_s());
  }
  Task<RateDecision> async_peek(std::string key, RateBudget budget, double cost) override {
    co_return limiter_.peek(key, budget, cost, now_s());
  }
  Task<void> async_forget(std::string key) override {
    limiter_.forget(key);
    co_return;
  }
  Task<int> async_presence_connect(Id user_id) override { co_return presence_connect_now(user_id); }
  Task<int> async_presence_disconnect(Id user_id) override {
    co_return presence_disconnect_now(user_id);
  }
  Task<bool> async_is_online(Id user_id) override {
    std::lock_guard lock(mu_);
    co_return sessions_.count(user_id) != 0;
  }
  Task<std::vector<Id>> async_online(std::vector<Id> user_ids) override {
    std::lock_guard lock(mu_);
    std::vector<Id> out;
    for (Id u : user_ids)
      if (sessions_.count(u)) out.push_back(u);
    co_return out;
  }
  Task<VoiceJoin> async_voice_join(VoiceState s, int user_limit) override {
    co_return voice_join_now(s, user_limit);
  }
  Task<std::optional<VoiceState>> async_voice_leave(Id user_id, Id channel_id) override {
    co_return voice_leave_now(user_id, channel_id);
  }
  Task<std::optional<VoiceState>> async_voice_update(Id user_id, bool mute, bool deaf) override {
    co_return voice_update_now(user_id, mute, deaf);
  }
  Task<std::optional<VoiceState>> async_voice_suppress(Id user_id, bool suppress) override {
    co_return voice_suppress_now(user_id, suppress);
  }
  Task<std::optional<VoiceState>> async_voice_set_stream(Id user_id, Id channel_id,
                                                         bool live) override {
    std::lock_guard lock(mu_);
    auto it = states_.find(user_id);
    if (it == states_.end() || it->second.channel_id != channel_id) co_return std::nullopt;
    it->second.self_stream = live;
    co_return it->second;
  }
  Task<std::optional<VoiceState>> async_voice_state(Id user_id) override {
    co_return voice_state_now(user_id);
  }
  Task<std::vector<VoiceState>> async_channel_voice_states(Id channel_id) override {
    co_return channel_voice_states_now(channel_id);
  }
  Task<std::vector<VoiceState>> async_guild_voice_states(Id guild_id) override {
    co_return guild_voice_states_now(guild_id);
  }
  Task<int> async_active_voice_channels() override {
    std::lock_guard lock(mu_);
    co_return static_cast<int>(channels_.size());
  }
  Task<int> async_active_voice_users() override {
    std::lock_guard lock(mu_);
    co_return static_cast<int>(states_.size());
  }

 private:
  static double now_s() { return static_cast<double>(steady_us()) / 1e6; }

  int presence_connect_now(Id user_id) {
    std::lock_guard lock(mu_);
    return ++sessions_[user_id];
  }
  int presence_disconnect_now(Id user_id) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(user_id);
    if (it == sessions_.end()) return 0;
    int left = --it->second;
    if (left <= 0) {
      sessions_.erase(it);
      return 0;
    }
    return left;
  }
  VoiceJoin voice_join_now(const VoiceState& s, int user_limit) {
    std::lock_guard lock(mu_);
    VoiceJoin out;
    auto& members = channels_[s.channel_id];
    auto cur = states_.find(s.user_id);
    bool already_here = cur != states_.end() && cur->second.channel_id == s.channel_id;
    if (!already_here && user_limit > 0 && static_cast<int>(members.size()) >= user_limit) {
      if (members.empty()) channels_.erase(s.channel_id);
      out.full = true;
      out.count = static_cast<int>(members.size());
      return out;
    }
    if (cur != states_.end() && !already_here) {
      out.previous = cur->second;
      remove_locked(cur->second);
    }
    VoiceState st = s;
    if (already_here) {
      st.joined_at = cur->second.joined_at;
      st.session = cur->second.session;
      st.self_stream = cur->second.self_stream;
    }
    states_[s.user_id] = st;
    channels_[s.channel_id].insert(s.user_id);
    out.count = static_cast<int>(channels_[s.channel_id].size());
    out.state = st;
    return out;
  }

  std::optional<VoiceState> voice_leave_now(Id user_id, Id channel_id) {
    std::lock_guard lock(mu_);
    auto it = states_.find(user_id);
    if (it == states_.end() || (channel_id != 0 && it->second.channel_id != channel_id))
      return std::nullopt;
    VoiceState old = it->second;
    remove_locked(old);
    return old;
  }

  std::optional<VoiceState> voice_update_now(Id user_id, bool mute, bool deaf) {
    std::lock_guard lock(mu_);
    auto it = states_.find(user_id);
    if (it == states_.end()) return std::nullopt;
    it->second.self_mute = mute;
    it->second.self_deaf = deaf;
    return it->second;
  }

  std::optional<VoiceState> voice_suppress_now(Id user_id, bool suppress) {
    std::lock_guard lock(mu_);
    auto it = states_.find(user_id);
    if (it == states_.end()) return std::nullopt;
    it->second.suppress = suppress;
    if (suppress) it->second.self_mute = true;
    return it->second;
  }

  std::optional<VoiceState> voice_state_now(Id user_id) {
    std::lock_guard lock(mu_);
    auto it = states_.find(user_id);
    if (it == states_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<VoiceState> channel_voice_states_now(Id channel_id) {
    std::lock_guard lock(mu_);
    std::vector<VoiceState> out;
    auto it = channels_.find(channel_id);
    if (it == channels_.end()) return out;
    for (Id u : it->second) out.push_back(states_.at(u));
    return out;
  }

  std::vector<VoiceState> guild_voice_states_now(Id guild_id) {
    std::lock_guard lock(mu_);
    std::vector<VoiceState> out;
    for (auto& [u, s] : states_)
      if (s.guild_id == guild_id) out.push_back(s);
    return out;
  }

  void remove_locked(VoiceState s) {  // by value: s may live in states_, erased below
    states_.erase(s.user_id);
    auto ch = channels_.find(s.channel_id);
    if (ch != channels_.end()) {
      ch->second.erase(s.user_id);
      if (ch->second.empty()) channels_.erase(ch);
    }
  }

  RateLimiter limiter_;
  std::mutex mu_;
  std::unordered_map<Id, int> sessions_;
  std::unordered_map<Id, VoiceState> states_;
  std::unordered_map<Id, std::unordered_set<Id>> channels_;
};

}  // namespace

std::unique_ptr<Coordinator> make_local_coordinator() {
  return std::make_unique<LocalCoordinator>();
}

}  // namespace hype::cluster
