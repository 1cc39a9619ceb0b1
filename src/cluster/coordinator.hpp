// Coordinator: short-lived shared state that is not worth a database row and must be seen by
// every node: rate-limit buckets, who is online, who is in which voice channel. Single node:
// LocalCoordinator (in memory, mutex). Cluster: Redis, behind this same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/ids.hpp"

namespace hype::cluster {

struct RateDecision {
  bool allowed = true;
  double retry_after_s = 0;  // when not allowed: seconds until one token is back
};

struct VoiceState {
  Id guild_id = 0;
  Id channel_id = 0;
  Id user_id = 0;
  bool self_mute = false;
  bool self_deaf = false;
  // No SPEAK permission: the SFU drops the user's audio whatever the client sends.
  bool suppress = false;
  std::int64_t joined_at = 0;
  // Random id of this stay in the channel, kept when the user joins the channel they are
  // already in. Voice tokens carry it: a token minted for an earlier stay (before a leave,
  // kick or channel deletion) no longer matches and cannot open or keep an SFU session.
  std::uint64_t session = 0;
};

struct VoiceJoin {
  bool full = false;                   // user_limit reached: nothing changed
  std::optional<VoiceState> previous;  // the channel the user was in before, if another
  int count = 0;                       // users in the channel after the join
  VoiceState state;                    // as stored (session kept when already there)
};

class Coordinator {
 public:
  virtual ~Coordinator() = default;

  // Token bucket `key` with `budget`; takes `cost` tokens if there are enough.
  virtual RateDecision take(const std::string& key, const RateBudget& budget, double cost = 1) = 0;
  // What take would answer, without taking: for budgets charged only after the fact (failed
  // logins), which must be checked before the attempt.
  virtual RateDecision peek(const std::string& key, const RateBudget& budget, double cost = 1) = 0;
  virtual void forget(const std::string& key) = 0;  // bucket `key` is full again

  // Presence: counts sessions per user. connect returns the count after, disconnect too.
  virtual int presence_connect(Id user_id) = 0;
  virtual int presence_disconnect(Id user_id) = 0;
  virtual bool is_online(Id user_id) = 0;

  // Voice states. A user is in at most one channel: join moves them (atomically).
  virtual VoiceJoin voice_join(const VoiceState& s, int user_limit) = 0;
  virtual std::optional<VoiceState> voice_leave(Id user_id, Id channel_id /*0 = any*/) = 0;
  virtual std::optional<VoiceState> voice_update(Id user_id, bool self_mute, bool self_deaf) = 0;
  // Sets `suppress` (and self_mute with it when suppressing); nullopt when not in voice.
  virtual std::optional<VoiceState> voice_suppress(Id user_id, bool suppress) = 0;
  virtual std::optional<VoiceState> voice_state(Id user_id) = 0;
  virtual std::vector<VoiceState> channel_voice_states(Id channel_id) = 0;
  virtual std::vector<VoiceState> guild_voice_states(Id guild_id) = 0;
  virtual int active_voice_channels() = 0;
  virtual int active_voice_users() = 0;
};

std::unique_ptr<Coordinator> make_local_coordinator();

}  // namespace hype::cluster
