// Coordinator: short-lived shared state that is not worth a database row and must be seen by
// every node: rate-limit buckets, who is online, who is in which voice channel. Single node:
// LocalCoordinator (in memory, mutex). Cluster: Redis, behind this same interface.
//
// Why every operation is awaitable (the `async_*` virtuals), rather than per-node fast paths
// for some of them: all of this state is shared in a cluster. Presence and voice states are
// read by other nodes by definition. Rate buckets could be kept per node, but behind a
// round-robin balancer that multiplies every budget by the node count, and the login throttle
// (per account) exists precisely to hold across nodes. So each check is one Redis round trip
// (one script on hash-tagged keys), and the event loop must not wait for it: the gateway and
// the API's budget checks co_await these. The in-process backend completes without ever
// suspending, so single-node mode pays a coroutine frame, not a thread hop. The per-node
// RateLimiter stays as what a Redis backend falls back to while Redis is down (request budgets
// keep working per node; new placements fail, see placement.hpp).
//
// The blocking forms (same names without `async_`) are for code on the blocking pool, which
// already waits there for the database: domain services, the login throttle, tests. They run
// the awaitable to completion on the calling thread (cluster/wait.hpp). Never on the event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/wait.hpp"
#include "core/config.hpp"
#include "core/ids.hpp"

namespace hype::cluster {

template <typename T>
using Task = boost::asio::awaitable<T>;

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
  // Live: sharing their screen ("Go Live", POST /voice/stream). Only then does the SFU take
  // the user's screen tracks; cleared on leave, on a join elsewhere and when STREAM is lost.
  bool self_stream = false;
};

struct VoiceJoin {
  bool full = false;                   // user_limit reached: nothing changed
  std::optional<VoiceState> previous;  // the channel the user was in before, if another
  int count = 0;                       // users in the channel after the join
  VoiceState state;                    // as stored (session kept when already there)
};

// A voice state read together with the generation of the store it was read from. A shared
// store that restarted empty has a new generation (none until the next join), so "this user
// left" can be told apart from "the store forgot everyone": the SFU asks the sessions of a
// forgotten generation to rejoin (which writes their state again) instead of ending them.
// In-process: no generation ("").
struct VoiceLookup {
  std::optional<VoiceState> state;
  std::string generation;
};

class Coordinator {
 public:
  virtual ~Coordinator() = default;

  // Parameters are taken by value: an awaitable may run after the caller's temporaries died.

  // Token bucket `key` with `budget`; takes `cost` tokens if there are enough.
  virtual Task<RateDecision> async_take(std::string key, RateBudget budget, double cost) = 0;
  // What take would answer, without taking: for budgets charged only after the fact (failed
  // logins), which must be checked before the attempt.
  virtual Task<RateDecision> async_peek(std::string key, RateBudget budget, double cost) = 0;
  virtual Task<void> async_forget(std::string key) = 0;  // bucket `key` is full again

  // Presence: counts sessions per user. connect returns the count after, disconnect too.
  virtual Task<int> async_presence_connect(Id user_id) = 0;
  virtual Task<int> async_presence_disconnect(Id user_id) = 0;
  virtual Task<bool> async_is_online(Id user_id) = 0;
  // The users of `user_ids` that are online, in the given order: one round trip for a list.
  virtual Task<std::vector<Id>> async_online(std::vector<Id> user_ids) = 0;

  // Voice states. A user is in at most one channel: join moves them (atomically).
  virtual Task<VoiceJoin> async_voice_join(VoiceState s, int user_limit) = 0;
  virtual Task<std::optional<VoiceState>> async_voice_leave(Id user_id,
                                                            Id channel_id /*0 = any*/) = 0;
  virtual Task<std::optional<VoiceState>> async_voice_update(Id user_id, bool self_mute,
                                                             bool self_deaf) = 0;
  // Sets `suppress` (and self_mute with it when suppressing); nullopt when not in voice.
  virtual Task<std::optional<VoiceState>> async_voice_suppress(Id user_id, bool suppress) = 0;
  virtual Task<std::optional<VoiceState>> async_voice_state(Id user_id) = 0;
  virtual Task<VoiceLookup> async_voice_lookup(Id user_id) {
    VoiceLookup out;
    out.state = co_await async_voice_state(user_id);
    co_return out;
  }
  // Sets `self_stream`; nullopt when the user is not in `channel_id`.
  virtual Task<std::optional<VoiceState>> async_voice_set_stream(Id user_id, Id channel_id,
                                                                 bool live) = 0;
  virtual Task<std::vector<VoiceState>> async_channel_voice_states(Id channel_id) = 0;
  virtual Task<std::vector<VoiceState>> async_guild_voice_states(Id guild_id) = 0;
  virtual Task<int> async_active_voice_channels() = 0;
  virtual Task<int> async_active_voice_users() = 0;

  // This node is alive: a shared backend keeps counting its sessions (presence) only while it
  // hears this. The app calls it once a second; in-process there is nothing to do.
  virtual Task<void> async_keepalive() { co_return; }

  // Blocking forms, for the blocking pool (see the top of this file).
  RateDecision take(const std::string& key, const RateBudget& budget, double cost = 1) {
    return wait(async_take(key, budget, cost));
  }
  RateDecision peek(const std::string& key, const RateBudget& budget, double cost = 1) {
    return wait(async_peek(key, budget, cost));
  }
  void forget(const std::string& key) { wait(async_forget(key)); }
  int presence_connect(Id user_id) { return wait(async_presence_connect(user_id)); }
  int presence_disconnect(Id user_id) { return wait(async_presence_disconnect(user_id)); }
  bool is_online(Id user_id) { return wait(async_is_online(user_id)); }
  std::vector<Id> online(std::vector<Id> user_ids) {
    return wait(async_online(std::move(user_ids)));
  }
  VoiceJoin voice_join(const VoiceState& s, int user_limit) {
    return wait(async_voice_join(s, user_limit));
  }
  std::optional<VoiceState> voice_leave(Id user_id, Id channel_id) {
    return wait(async_voice_leave(user_id, channel_id));
  }
  std::optional<VoiceState> voice_update(Id user_id, bool self_mute, bool self_deaf) {
    return wait(async_voice_update(user_id, self_mute, self_deaf));
  }
  std::optional<VoiceState> voice_suppress(Id user_id, bool suppress) {
    return wait(async_voice_suppress(user_id, suppress));
  }
  std::optional<VoiceState> voice_state(Id user_id) { return wait(async_voice_state(user_id)); }
  std::optional<VoiceState> voice_set_stream(Id user_id, Id channel_id, bool live) {
    return wait(async_voice_set_stream(user_id, channel_id, live));
  }
  std::vector<VoiceState> channel_voice_states(Id channel_id) {
    return wait(async_channel_voice_states(channel_id));
  }
  std::vector<VoiceState> guild_voice_states(Id guild_id) {
    return wait(async_guild_voice_states(guild_id));
  }
  int active_voice_channels() { return wait(async_active_voice_channels()); }
  int active_voice_users() { return wait(async_active_voice_users()); }
  void keepalive() { wait(async_keepalive()); }
};

std::unique_ptr<Coordinator> make_local_coordinator();

}  // namespace hype::cluster
