// A Coordinator that forwards every call to another one: tests derive from it and override the
// one call they need to slow down or interleave with (as a Redis reply or a concurrent request
// would), keeping the in-process behaviour for the rest.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cluster/coordinator.hpp"

namespace hype::testing {

class ForwardingCoordinator : public cluster::Coordinator {
 public:
  explicit ForwardingCoordinator(cluster::Coordinator& inner) : inner_(inner) {}

  cluster::Task<cluster::RateDecision> async_take(std::string k, RateBudget b, double c) override {
    return inner_.async_take(std::move(k), b, c);
  }
  cluster::Task<cluster::RateDecision> async_peek(std::string k, RateBudget b, double c) override {
    return inner_.async_peek(std::move(k), b, c);
  }
  cluster::Task<void> async_forget(std::string k) override {
    return inner_.async_forget(std::move(k));
  }
  cluster::Task<int> async_presence_connect(Id u) override {
    return inner_.async_presence_connect(u);
  }
  cluster::Task<int> async_presence_disconnect(Id u) override {
    return inner_.async_presence_disconnect(u);
  }
  cluster::Task<bool> async_is_online(Id u) override { return inner_.async_is_online(u); }
  cluster::Task<std::vector<Id>> async_online(std::vector<Id> u) override {
    return inner_.async_online(std::move(u));
  }
  cluster::Task<cluster::VoiceJoin> async_voice_join(cluster::VoiceState s, int limit) override {
    return inner_.async_voice_join(s, limit);
  }
  cluster::Task<std::optional<cluster::VoiceState>> async_voice_leave(Id u, Id c) override {
    return inner_.async_voice_leave(u, c);
  }
  cluster::Task<std::optional<cluster::VoiceState>> async_voice_update(Id u, bool m,
                                                                       bool d) override {
    return inner_.async_voice_update(u, m, d);
  }
  cluster::Task<std::optional<cluster::VoiceState>> async_voice_suppress(Id u, bool s) override {
    return inner_.async_voice_suppress(u, s);
  }
  cluster::Task<std::optional<cluster::VoiceState>> async_voice_state(Id u) override {
    return inner_.async_voice_state(u);
  }
  cluster::Task<std::optional<cluster::VoiceState>> async_voice_set_stream(Id u, Id c,
                                                                           bool l) override {
    return inner_.async_voice_set_stream(u, c, l);
  }
  cluster::Task<std::vector<cluster::VoiceState>> async_channel_voice_states(Id c) override {
    return inner_.async_channel_voice_states(c);
  }
  cluster::Task<std::vector<cluster::VoiceState>> async_guild_voice_states(Id g) override {
    return inner_.async_guild_voice_states(g);
  }
  cluster::Task<int> async_active_voice_channels() override {
    return inner_.async_active_voice_channels();
  }
  cluster::Task<int> async_active_voice_users() override {
    return inner_.async_active_voice_users();
  }

 protected:
  cluster::Coordinator& inner_;
};

}  // namespace hype::testing
