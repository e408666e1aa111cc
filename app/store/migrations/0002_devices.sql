-- The device registry: devices, their check-ins and daily counters, meshes,
-- environments, configuration pushes, transfers, push tokens and the
-- questions devices ask. Times are integer milliseconds; 0 means "never".
-- Every list the console shows is per owner, so owner-scoped indexes lead
-- with owner_id and end with the sort key.

CREATE TABLE devices (
	udid               TEXT PRIMARY KEY CHECK (length(udid) = 36),
	owner_id           TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	mac                TEXT NOT NULL DEFAULT '',
	alias              TEXT NOT NULL,
	description        TEXT NOT NULL DEFAULT '',
	category           TEXT NOT NULL DEFAULT '',
	icon               TEXT NOT NULL DEFAULT '',
	tags               TEXT NOT NULL DEFAULT '[]',   -- JSON array, mirrored in device_tags for filtering
	platform           TEXT NOT NULL DEFAULT '',
	firmware           TEXT NOT NULL DEFAULT '',
	version            TEXT NOT NULL DEFAULT '',
	commit_id          TEXT NOT NULL DEFAULT '',
	checksum           TEXT NOT NULL DEFAULT '',
	env_hash           TEXT NOT NULL DEFAULT '',
	fcid               TEXT NOT NULL DEFAULT '',
	status             TEXT NOT NULL DEFAULT '',     -- raw
	status_text        TEXT NOT NULL DEFAULT '',     -- transformed
	level              TEXT NOT NULL DEFAULT '',     -- error, warning, info, ''
	status_error       TEXT NOT NULL DEFAULT '',     -- last transformer failure
	lat                REAL NOT NULL DEFAULT 0,
	lon                REAL NOT NULL DEFAULT 0,
	rssi               INTEGER NOT NULL DEFAULT 0,
	ip                 TEXT NOT NULL DEFAULT '',
	auto_update        INTEGER NOT NULL DEFAULT 0,
	timezone_abbr      TEXT NOT NULL DEFAULT '',
	timezone_offset    REAL NOT NULL DEFAULT 0,
	online             INTEGER NOT NULL DEFAULT 0,
	online_at          INTEGER NOT NULL DEFAULT 0,
	checkins           INTEGER NOT NULL DEFAULT 0,   -- all ever, not only those kept
	error_day          INTEGER NOT NULL DEFAULT 0,   -- last UTC day counted as "in error"
	key_hash           TEXT NOT NULL DEFAULT '',
	prev_owner_id      TEXT NOT NULL DEFAULT '',
	transfer_key_hash  TEXT NOT NULL DEFAULT '',
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	last_checkin       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_owner_alias ON devices(owner_id, alias COLLATE NOCASE, udid);
CREATE INDEX devices_owner_checkin ON devices(owner_id, last_checkin);
CREATE INDEX devices_owner_level ON devices(owner_id, level);
CREATE INDEX devices_owner_online ON devices(owner_id, online);
CREATE INDEX devices_owner_platform ON devices(owner_id, platform);
CREATE INDEX devices_owner_created ON devices(owner_id, created_at);

CREATE TABLE device_tags (
	udid      TEXT NOT NULL REFERENCES devices(udid) ON DELETE CASCADE,
	owner_id  TEXT NOT NULL,
	tag       TEXT NOT NULL,
	PRIMARY KEY (udid, tag)
) WITHOUT ROWID;
CREATE INDEX device_tags_owner ON device_tags(owner_id, tag);

-- UDIDs of revoked devices: a check-in with one of them is refused, so a
-- revoked device cannot come back by itself.
CREATE TABLE device_tombstones (
	udid        TEXT PRIMARY KEY,
	owner_id    TEXT NOT NULL,
	revoked_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE checkins (
	id        INTEGER PRIMARY KEY,
	udid      TEXT NOT NULL REFERENCES devices(udid) ON DELETE CASCADE,
	at        INTEGER NOT NULL,
	firmware  TEXT NOT NULL DEFAULT '',
	version   TEXT NOT NULL DEFAULT '',
	status    TEXT NOT NULL DEFAULT '',
	rssi      INTEGER NOT NULL DEFAULT 0,
	ip        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX checkins_udid ON checkins(udid, id);

-- Per owner per UTC day, kept when the check-ins themselves are trimmed.
CREATE TABLE daily_stats (
	owner_id     TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	day          INTEGER NOT NULL,                  -- days since 1970-01-01 UTC
	checkins     INTEGER NOT NULL DEFAULT 0,
	new_devices  INTEGER NOT NULL DEFAULT 0,
	active       INTEGER NOT NULL DEFAULT 0,
	errors       INTEGER NOT NULL DEFAULT 0,
	updated      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (owner_id, day)
) WITHOUT ROWID;

CREATE TABLE meshes (
	owner_id    TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	alias       TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (owner_id, id)
) WITHOUT ROWID;

CREATE TABLE mesh_devices (
	owner_id  TEXT NOT NULL,
	mesh_id   TEXT NOT NULL,
	udid      TEXT NOT NULL REFERENCES devices(udid) ON DELETE CASCADE,
	PRIMARY KEY (owner_id, mesh_id, udid),
	FOREIGN KEY (owner_id, mesh_id) REFERENCES meshes(owner_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX mesh_devices_udid ON mesh_devices(udid);

CREATE TABLE device_env (
	udid        TEXT NOT NULL REFERENCES devices(udid) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	value       TEXT NOT NULL,
	secret      INTEGER NOT NULL DEFAULT 0,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (udid, name)
) WITHOUT ROWID;

CREATE TABLE owner_env (
	owner_id    TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	value       TEXT NOT NULL,
	secret      INTEGER NOT NULL DEFAULT 0,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (owner_id, name)
) WITHOUT ROWID;

CREATE TABLE config_pushes (
	id            INTEGER PRIMARY KEY,
	owner_id      TEXT NOT NULL,
	udid          TEXT NOT NULL REFERENCES devices(udid) ON DELETE CASCADE,
	keys          TEXT NOT NULL,                  -- JSON array of names, for display
	payload       BLOB NOT NULL,                  -- {"configuration":{…}} as published
	created_at    INTEGER NOT NULL,
	delivered_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX config_pushes_pending ON config_pushes(udid, delivered_at, id);

CREATE TABLE transfers (
	id             TEXT PRIMARY KEY,
	from_owner_id  TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	to_owner_id    TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	with_env       INTEGER NOT NULL DEFAULT 0,
	state          TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	closed_at      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX transfers_from ON transfers(from_owner_id, created_at);
CREATE INDEX transfers_to ON transfers(to_owner_id, created_at);
CREATE INDEX transfers_pending ON transfers(state, expires_at);

CREATE TABLE transfer_devices (
	transfer_id  TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
	udid         TEXT NOT NULL,
	alias        TEXT NOT NULL,
	state        TEXT NOT NULL,                   -- pending, accepted, declined
	PRIMARY KEY (transfer_id, udid)
) WITHOUT ROWID;
-- A device is in at most one pending transfer.
CREATE UNIQUE INDEX transfer_devices_pending ON transfer_devices(udid) WHERE state = 'pending';

CREATE TABLE push_tokens (
	udid        TEXT PRIMARY KEY REFERENCES devices(udid) ON DELETE CASCADE,
	token       TEXT NOT NULL,
	updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE notifications (
	id             INTEGER PRIMARY KEY,
	owner_id       TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	udid           TEXT NOT NULL REFERENCES devices(udid) ON DELETE CASCADE,
	title          TEXT NOT NULL DEFAULT '',
	body           TEXT NOT NULL DEFAULT '',
	type           TEXT NOT NULL DEFAULT '',
	response_type  TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	answered_at    INTEGER NOT NULL DEFAULT 0,
	response       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_owner ON notifications(owner_id, answered_at, id);
