-- Initial schema (SQLite). Same meaning as migrations/postgres/0001_init.sql.
-- Times are unix milliseconds, ids are snowflakes chosen by the caller, booleans are 0/1.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT    NOT NULL COLLATE NOCASE UNIQUE,
  password_hash TEXT    NOT NULL,
  created_at    INTEGER NOT NULL
);

CREATE TABLE refresh_tokens (
  token_hash TEXT    PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  family_id  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used       INTEGER NOT NULL DEFAULT 0,
  revoked    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE guilds (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  owner_id   INTEGER NOT NULL REFERENCES users (id),
  created_at INTEGER NOT NULL
);

CREATE TABLE roles (
  id          INTEGER PRIMARY KEY,
  guild_id    INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
  name        TEXT    NOT NULL,
  permissions INTEGER NOT NULL DEFAULT 0,
  position    INTEGER NOT NULL DEFAULT 0,
  UNIQUE (guild_id, id)
);

CREATE TABLE members (
  guild_id  INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
  user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members (user_id);

-- A role link belongs to a membership and to a role of the same guild: removing either
-- removes the link.
CREATE TABLE member_roles (
  guild_id INTEGER NOT NULL,
  user_id  INTEGER NOT NULL,
  role_id  INTEGER NOT NULL,
  PRIMARY KEY (guild_id, user_id, role_id),
  FOREIGN KEY (guild_id, user_id) REFERENCES members (guild_id, user_id) ON DELETE CASCADE,
  FOREIGN KEY (guild_id, role_id) REFERENCES roles (guild_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX member_roles_role ON member_roles (guild_id, role_id);

CREATE TABLE channels (
  id         INTEGER PRIMARY KEY,
  guild_id   INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
  name       TEXT    NOT NULL,
  kind       INTEGER NOT NULL DEFAULT 0,
  position   INTEGER NOT NULL DEFAULT 0,
  topic      TEXT    NOT NULL DEFAULT '',
  user_limit INTEGER NOT NULL DEFAULT 0,
  bitrate    INTEGER NOT NULL DEFAULT 64000,
  created_at INTEGER NOT NULL
);
CREATE INDEX channels_guild ON channels (guild_id);

CREATE TABLE invites (
  code       TEXT    PRIMARY KEY,
  guild_id   INTEGER NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
  inviter_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL DEFAULT 0,
  max_uses   INTEGER NOT NULL DEFAULT 0,
  uses       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX invites_guild ON invites (guild_id);

-- guild_id is kept on every message for sharding by guild; the channel reference carries
-- the cascade (a guild's channels go with it, and their messages with them).
CREATE TABLE messages (
  id         INTEGER PRIMARY KEY,
  channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  guild_id   INTEGER NOT NULL,
  author_id  INTEGER NOT NULL,
  content    TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  edited_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_channel ON messages (channel_id, id DESC);
