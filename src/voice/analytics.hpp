// Voice analytics: the rollups guild managers see (voice minutes per guild per UTC day, peak
// concurrent voice users per day, joins per minute), built from the voice events of
// cluster::EventLog by the `analytics` role.
//
// Delivery is at least once, so applying is idempotent by event id: each event becomes one
// store::AnalyticsDelta, and Store::apply_analytics records the event id in the same
// transaction as the rollup change (a redelivered event changes nothing). Acknowledging comes
// after that commit: a consumer killed between the two gets the events again and skips them.
// Every rollup is a sum or a maximum of per-event values, so the order of delivery does not
// matter: peak concurrency comes from the guild's voice user count carried by each join and
// leave, not from counting joins minus leaves (which a lost state would corrupt forever).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "chat/chat_service.hpp"
#include "cluster/event_log.hpp"
#include "store/store.hpp"

namespace hype::voice {

inline constexpr std::int64_t kMsPerDay = 86'400'000;
inline constexpr std::int64_t kMsPerMinute = 60'000;

// Milliseconds of [start_ms, end_ms) in each UTC day it touches, as (day, ms): a session
// spanning midnight counts on both days. Empty when end_ms <= start_ms.
std::vector<std::pair<std::int64_t, std::int64_t>> split_by_day(std::int64_t start_ms,
                                                                std::int64_t end_ms);

// What one event adds to the rollups (empty for types without one: still recorded as
// applied, so it is never delivered as new again).
store::AnalyticsDelta analytics_delta(const cluster::VoiceEvent& e);

struct ConsumeResult {
  int read = 0;
  int applied = 0;
  int duplicates = 0;
  double lag_seconds = 0;  // age of the oldest event read (0 when none was waiting)
};

class AnalyticsConsumer {
 public:
  AnalyticsConsumer(cluster::EventLog& log, store::Store& store, std::string group);
  // Reads up to `max` events, applies them in one transaction, then acknowledges them.
  ConsumeResult poll(int max, std::int64_t now_ms);

 private:
  cluster::EventLog& log_;
  store::Store& store_;
  std::string group_;
};

struct GuildAnalytics {
  Id guild_id = 0;
  std::int64_t from_day = 0;            // first day reported (UTC days since the epoch)
  std::int64_t to_day = 0;              // today
  std::vector<store::VoiceDaily> days;  // one per day in [from_day, to_day], zeros included
  std::vector<store::JoinsMinute> join_minutes;  // minutes with joins, in the same range
};

// GET /api/v1/guilds/:id/analytics: guild managers only (MANAGE_GUILD or the owner: 403
// otherwise; 404 when not a member). `days` (1..90) ends with today (UTC).
GuildAnalytics guild_analytics(chat::ChatService& chat, store::Store& store, Id actor, Id guild_id,
                               int days, std::int64_t now_ms);

}  // namespace hype::voice
