-- Initial schema (PostgreSQL). Same meaning as migrations/sqlite/0001_init.sql.
-- Times are unix milliseconds, ids are snowflakes chosen by the caller.

CREATE TABLE users (
  id            BIGINT PRIMARY KEY,
  username      TEXT   NOT NULL,
  password_hash TEXT   NOT NULL,
  created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

CREATE TABLE refresh_tokens (
  token_hash TEXT    PRIMARY KEY,
  user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  family_id  BIGINT  NOT NULL,
  expires_at BIGINT  NOT NULL,
  used       BOOLEAN NOT NULL DEFAULT FALSE,
  revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE guilds (
  id         BIGINT PRIMARY KEY,
  name       TEXT   NOT NULL,
  owner_id   BIGINT NOT NULL REFERENCES users (id),
  created_at BIGINT NOT NULL
);

CREATE TABLE roles (
  id          BIGINT  PRIMARY KEY,
  guild_id    BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
  name        TEXT    NOT NULL,
  permissions BIGINT  NOT NULL DEFAULT 0,
  position    INTEGER NOT NULL DEFAULT 0,
  UNIQUE (guild_id, id)
);

CREATE TABLE members (
  guild_id  BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
  user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  joined_at BIGINT NOT NULL,
  PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

-- A role link belongs to a membership and to a role of the same guild: removing either
-- removes the link.
CREATE TABLE member_roles (
  guild_id BIGINT NOT NULL,
  user_id  BIGINT NOT NULL,
  role_id  BIGINT NOT NULL,
  PRIMARY KEY (guild_id, user_id, role_id),
  FOREIGN KEY (guild_id, user_id) REFERENCES members (guild_id, user_id) ON DELETE CASCADE,
  FOREIGN KEY (guild_id, role_id) REFERENCES roles (guild_id, id) ON DELETE CASCADE
);
CREATE INDEX member_roles_role ON member_roles (guild_id, role_id);

CREATE TABLE channels (
  id         BIGINT   PRIMARY KEY,
  guild_id   BIGINT   NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
  name       TEXT     NOT NULL,
  kind       SMALLINT NOT NULL DEFAULT 0,
  position   INTEGER  NOT NULL DEFAULT 0,
  topic      TEXT     NOT NULL DEFAULT '',
  user_limit INTEGER  NOT NULL DEFAULT 0,
  bitrate    INTEGER  NOT NULL DEFAULT 64000,
  created_at BIGINT   NOT NULL
);
CREATE INDEX channels_guild ON channels (guild_id);

CREATE TABLE invites (
  code       TEXT    PRIMARY KEY,
  guild_id   BIGINT  NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
  inviter_id BIGINT  NOT NULL,
  created_at BIGINT  NOT NULL,
  expires_at BIGINT  NOT NULL DEFAULT 0,
  max_uses   INTEGER NOT NULL DEFAULT 0,
  uses       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invites_guild ON invites (guild_id);

-- guild_id is kept on every message for sharding by guild; the channel reference carries
-- the cascade (a guild's channels go with it, and their messages with them).
CREATE TABLE messages (
  id         BIGINT PRIMARY KEY,
  channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  guild_id   BIGINT NOT NULL,
  author_id  BIGINT NOT NULL,
  content    TEXT   NOT NULL,
  created_at BIGINT NOT NULL,
  edited_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX messages_channel ON messages (channel_id, id DESC);
