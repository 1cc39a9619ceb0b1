#include "voice/analytics.hpp"

#include <algorithm>

#include "chat/permissions.hpp"
#include "core/errors.hpp"

namespace hype::voice {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::vector<std::pair<std::int64_t, std::int64_t>> split_by_day(std::int64_t start_ms,
                                                                std::int64_t end_ms) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  std::int64_t t = start_ms;
  while (t < end_ms) {
    std::int64_t day = floor_div(t, kMsPerDay);
    std::int64_t next = std::min(end_ms, (day + 1) * kMsPerDay);
    out.emplace_back(day, next - t);
    t = next;
  }
  return out;
}

store::AnalyticsDelta analytics_delta(const cluster::VoiceEvent& e) {
  using T = cluster::VoiceEventType;
  store::AnalyticsDelta d;
  d.event_id = e.id;
  d.guild_id = e.guild_id;
  switch (e.type) {
    case T::join:
      d.join_minute = floor_div(e.at, kMsPerMinute);
      if (e.guild_users >= 0) {
        d.peak_day = floor_div(e.at, kMsPerDay);
        d.peak_users = e.guild_users;
      }
      break;
    case T::leave:
      d.voice_ms = split_by_day(e.at - std::max<std::int64_t>(0, e.duration_ms), e.at);
      break;
    case T::mode_switch:
    case T::stream_start:
    case T::stream_stop:
    case T::sfu_node_lost:
      break;
  }
  return d;
}

AnalyticsConsumer::AnalyticsConsumer(cluster::EventLog& log, store::Store& store, std::string group)
    : log_(log), store_(store), group_(std::move(group)) {}

ConsumeResult AnalyticsConsumer::poll(int max, std::int64_t now_ms) {
  ConsumeResult r;
  auto events = log_.read(group_, max);
  r.read = static_cast<int>(events.size());
  if (events.empty()) return r;
  std::int64_t oldest = events.front().at;
  std::vector<store::AnalyticsDelta> deltas;
  std::vector<Id> ids;
  deltas.reserve(events.size());
  for (auto& e : events) {
    oldest = std::min(oldest, e.at);
    deltas.push_back(analytics_delta(e));
    ids.push_back(e.id);
  }
  r.lag_seconds = std::max<std::int64_t>(0, now_ms - oldest) / 1000.0;
  r.applied = static_cast<int>(store_.apply_analytics(deltas, now_ms).size());
  r.duplicates = r.read - r.applied;
  log_.ack(group_, ids);
  return r;
}

GuildAnalytics guild_analytics(chat::ChatService& chat, store::Store& store, Id actor, Id guild_id,
                               int days, std::int64_t now_ms) {
  auto p = chat.permissions_for(actor, guild_id);
  if (!p) throw not_found("guild");
  if (!chat::has_permissions(*p, chat::perm::kManageGuild))
    throw forbidden("missing permission: MANAGE_GUILD");
  days = std::clamp(days, 1, 90);
  GuildAnalytics out;
  out.guild_id = guild_id;
  out.to_day = floor_div(now_ms, kMsPerDay);
  out.from_day = out.to_day - days + 1;
  auto rows = store.list_voice_daily(guild_id, out.from_day, out.to_day);
  std::size_t i = 0;
  for (std::int64_t d = out.from_day; d <= out.to_day; ++d) {
    if (i < rows.size() && rows[i].day == d)
      out.days.push_back(rows[i++]);
    else
      out.days.push_back({d, 0, 0, 0});
  }
  out.join_minutes = store.list_joins_minutes(guild_id, out.from_day * (kMsPerDay / kMsPerMinute));
  return out;
}

}  // namespace hype::voice
