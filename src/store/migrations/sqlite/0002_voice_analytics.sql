-- Voice events and analytics (sqlite; same meaning in both dialects). See
-- docs/design/analytics.md. No foreign keys to guilds: a guild's last leave events arrive
-- after its rows are gone, and its rollups stay readable to nobody (the API checks membership).

-- The outbox of cluster::EventLog on a single node: appended where voice state changes,
-- deleted when the analytics consumer acknowledges the event.
CREATE TABLE voice_events (
  id          INTEGER PRIMARY KEY,
  type        TEXT    NOT NULL,
  guild_id    INTEGER NOT NULL,
  channel_id  INTEGER NOT NULL,
  user_id     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  mode        TEXT    NOT NULL,
  node_id     TEXT    NOT NULL,
  guild_users INTEGER NOT NULL
) WITHOUT ROWID;

-- Event ids already applied to the rollups, written in the same transaction as the rollup
-- change: a redelivered event finds its id here and changes nothing.
CREATE TABLE analytics_processed (
  event_id     INTEGER PRIMARY KEY,
  processed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX analytics_processed_at ON analytics_processed (processed_at);

-- Per guild per UTC day (days since the unix epoch).
CREATE TABLE analytics_voice_daily (
  guild_id   INTEGER NOT NULL,
  day        INTEGER NOT NULL,
  voice_ms   INTEGER NOT NULL DEFAULT 0,
  peak_users INTEGER NOT NULL DEFAULT 0,
  joins      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (guild_id, day)
) WITHOUT ROWID;

-- Joins per guild per unix minute.
CREATE TABLE analytics_joins_minute (
  guild_id INTEGER NOT NULL,
  minute   INTEGER NOT NULL,
  joins    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (guild_id, minute)
) WITHOUT ROWID;
