// SqlStore: the voice event outbox and the analytics rollups.
#include "store/sql_store.hpp"

namespace hype::store {
namespace {

VoiceEventRow make_event(const Row& r) {
  VoiceEventRow e;
  e.id = r.i64(0);
  e.type = r.text(1);
  e.guild_id = r.i64(2);
  e.channel_id = r.i64(3);
  e.user_id = r.i64(4);
  e.at = r.i64(5);
  e.duration_ms = r.i64(6);
  e.mode = r.text(7);
  e.node_id = r.text(8);
  e.guild_users = r.i32(9);
  return e;
}

VoiceDaily make_daily(const Row& r) {
  return VoiceDaily{r.i64(0), r.i64(1), r.i32(2), r.i32(3)};
}

JoinsMinute make_minute(const Row& r) {
  return JoinsMinute{r.i64(0), r.i32(1)};
}

constexpr std::int64_t kMinutesPerDay = 24 * 60;

}  // namespace

void SqlStore::append_voice_event(const VoiceEventRow& e) {
  // A retried append (same id) is not a second event.
  exec(Access::write,
       "INSERT INTO voice_events (id, type, guild_id, channel_id, user_id, at, duration_ms, mode, "
       "node_id, guild_users) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
       "ON CONFLICT (id) DO NOTHING",
       {e.id, e.type, e.guild_id, e.channel_id, e.user_id, e.at, e.duration_ms, e.mode, e.node_id,
        e.guild_users});
}

std::vector<VoiceEventRow> SqlStore::list_voice_events(int limit) {
  // The writer connection: a reader could lag behind the append that was just committed.
  std::vector<VoiceEventRow> out;
  with_conn(Access::write, [&](SqlConn& c) {
    out.clear();
    run(c,
        "SELECT id, type, guild_id, channel_id, user_id, at, duration_ms, mode, node_id, "
        "guild_users FROM voice_events ORDER BY id LIMIT $1",
        {limit}, [&](const Row& r) { out.push_back(make_event(r)); });
  });
  return out;
}

void SqlStore::delete_voice_events(const std::vector<Id>& ids) {
  if (ids.empty()) return;
  transaction(Access::write, [&](SqlConn& c) {
    for (Id id : ids) run(c, "DELETE FROM voice_events WHERE id = $1", {id});
  });
}

std::vector<Id> SqlStore::apply_analytics(const std::vector<AnalyticsDelta>& deltas,
                                          std::int64_t now_ms) {
  std::vector<Id> applied;
  transaction(Access::write, [&](SqlConn& c) {
    applied.clear();  // a retried transaction starts over
    for (const AnalyticsDelta& d : deltas) {
      // The id and the rollup change commit together: either both or neither.
      if (run(c,
              "INSERT INTO analytics_processed (event_id, processed_at) VALUES ($1, $2) "
              "ON CONFLICT (event_id) DO NOTHING",
              {d.event_id, now_ms}) == 0)
        continue;
      applied.push_back(d.event_id);
      for (auto& [day, ms] : d.voice_ms)
        run(c,
            "INSERT INTO analytics_voice_daily (guild_id, day, voice_ms) VALUES ($1, $2, $3) "
            "ON CONFLICT (guild_id, day) DO UPDATE SET voice_ms = analytics_voice_daily.voice_ms "
            "+ excluded.voice_ms",
            {d.guild_id, day, ms});
      if (d.peak_users >= 0)
        run(c,
            "INSERT INTO analytics_voice_daily (guild_id, day, peak_users) VALUES ($1, $2, $3) "
            "ON CONFLICT (guild_id, day) DO UPDATE SET peak_users = CASE WHEN "
            "excluded.peak_users > analytics_voice_daily.peak_users THEN excluded.peak_users "
            "ELSE analytics_voice_daily.peak_users END",
            {d.guild_id, d.peak_day, d.peak_users});
      if (d.join_minute >= 0) {
        run(c,
            "INSERT INTO analytics_joins_minute (guild_id, minute, joins) VALUES ($1, $2, 1) "
            "ON CONFLICT (guild_id, minute) DO UPDATE SET joins = analytics_joins_minute.joins "
            "+ 1",
            {d.guild_id, d.join_minute});
        run(c,
            "INSERT INTO analytics_voice_daily (guild_id, day, joins) VALUES ($1, $2, 1) "
            "ON CONFLICT (guild_id, day) DO UPDATE SET joins = analytics_voice_daily.joins + 1",
            {d.guild_id, d.join_minute / kMinutesPerDay});
      }
    }
  });
  return applied;
}

std::vector<VoiceDaily> SqlStore::list_voice_daily(Id guild_id, std::int64_t from_day,
                                                   std::int64_t to_day) {
  return query<VoiceDaily>(
      "SELECT day, voice_ms, peak_users, joins FROM analytics_voice_daily WHERE guild_id = $1 "
      "AND day >= $2 AND day <= $3 ORDER BY day",
      {guild_id, from_day, to_day}, make_daily);
}

std::vector<JoinsMinute> SqlStore::list_joins_minutes(Id guild_id, std::int64_t from_minute) {
  return query<JoinsMinute>(
      "SELECT minute, joins FROM analytics_joins_minute WHERE guild_id = $1 AND minute >= $2 "
      "ORDER BY minute",
      {guild_id, from_minute}, make_minute);
}

void SqlStore::prune_analytics_processed(std::int64_t before_ms) {
  exec(Access::write, "DELETE FROM analytics_processed WHERE processed_at < $1", {before_ms});
}

}  // namespace hype::store
