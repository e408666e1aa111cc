-- Owners, their sessions, API keys, one-time links and the audit log.
-- Times are integer milliseconds since the Unix epoch; 0 means "never".

CREATE TABLE owners (
	id             TEXT PRIMARY KEY CHECK (length(id) = 64),
	email          TEXT NOT NULL UNIQUE,
	name           TEXT NOT NULL DEFAULT '',
	admin          INTEGER NOT NULL DEFAULT 0,
	disabled       INTEGER NOT NULL DEFAULT 0,
	password_hash  TEXT NOT NULL DEFAULT '',
	notify         TEXT NOT NULL DEFAULT '{}',
	avatar         BLOB,
	avatar_type    TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	last_login_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
	id          TEXT PRIMARY KEY,           -- sha256 of the cookie token
	owner_id    TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	created_at  INTEGER NOT NULL,
	seen_at     INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	ip          TEXT NOT NULL DEFAULT '',
	user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_owner ON sessions(owner_id);

CREATE TABLE api_keys (
	id            INTEGER PRIMARY KEY,
	owner_id      TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	alias         TEXT NOT NULL,
	hash          TEXT NOT NULL UNIQUE,     -- sha256 of the key; the key itself is never stored
	last4         TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	last_used_at  INTEGER NOT NULL DEFAULT 0,
	revoked_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_owner ON api_keys(owner_id);

CREATE TABLE tokens (
	hash        TEXT PRIMARY KEY,           -- sha256 of the link token
	owner_id    TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	kind        TEXT NOT NULL,              -- invite or reset
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	used_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_owner ON tokens(owner_id, kind);

CREATE TABLE audit (
	id        INTEGER PRIMARY KEY,
	owner_id  TEXT NOT NULL DEFAULT '',     -- whose log; '' for entries about nobody known
	actor_id  TEXT NOT NULL DEFAULT '',
	kind      TEXT NOT NULL,
	message   TEXT NOT NULL,
	ip        TEXT NOT NULL DEFAULT '',
	at        INTEGER NOT NULL
);
CREATE INDEX audit_owner_at ON audit(owner_id, at);
CREATE INDEX audit_at ON audit(at);

-- Generated secrets and small settings of this installation.
CREATE TABLE settings (
	key    TEXT PRIMARY KEY,
	value  BLOB NOT NULL
);
