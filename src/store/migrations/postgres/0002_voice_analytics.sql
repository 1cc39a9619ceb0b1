-- Voice events and analytics (postgres; same meaning in both dialects). See
-- docs/design/analytics.md. No foreign keys to guilds: a guild's last leave events arrive
-- after its rows are gone, and its rollups stay readable to nobody (the API checks membership).

-- The outbox of cluster::EventLog on a single node: appended where voice state changes,
-- deleted when the analytics consumer acknowledges the event.
CREATE TABLE voice_events (
  id          BIGINT PRIMARY KEY,
  type        TEXT    NOT NULL,
  guild_id    BIGINT NOT NULL,
  channel_id  BIGINT NOT NULL,
  user_id     BIGINT NOT NULL,
  at          BIGINT NOT NULL,
  duration_ms BIGINT NOT NULL,
  mode        TEXT    NOT NULL,
  node_id     TEXT    NOT NULL,
  guild_users INTEGER NOT NULL
);

-- Event ids already applied to the rollups, written in the same transaction as the rollup
-- change: a redelivered event finds its id here and changes nothing.
CREATE TABLE analytics_processed (
  event_id     BIGINT PRIMARY KEY,
  processed_at BIGINT NOT NULL
);
CREATE INDEX analytics_processed_at ON analytics_processed (processed_at);

-- Per guild per UTC day (days since the unix epoch).
CREATE TABLE analytics_voice_daily (
  guild_id   BIGINT NOT NULL,
  day        BIGINT NOT NULL,
  voice_ms   BIGINT NOT NULL DEFAULT 0,
  peak_users INTEGER NOT NULL DEFAULT 0,
  joins      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (guild_id, day)
);

-- Joins per guild per unix minute.
CREATE TABLE analytics_joins_minute (
  guild_id BIGINT NOT NULL,
  minute   BIGINT NOT NULL,
  joins    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (guild_id, minute)
);
