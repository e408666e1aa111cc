-- Status transformers: owner-scoped Go scripts, every save a new version,
-- attached to devices in order (the output of one feeds the next).

CREATE TABLE transformers (
	id                 TEXT PRIMARY KEY,          -- random, 16 hex
	owner_id           TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	alias              TEXT NOT NULL,
	version            INTEGER NOT NULL,          -- the current version
	source             TEXT NOT NULL,             -- the current version's source
	quarantined_at     INTEGER NOT NULL DEFAULT 0,
	quarantine_reason  TEXT NOT NULL DEFAULT '',
	last_error         TEXT NOT NULL DEFAULT '',
	last_error_at      INTEGER NOT NULL DEFAULT 0,
	runs               INTEGER NOT NULL DEFAULT 0,
	failures           INTEGER NOT NULL DEFAULT 0,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
CREATE INDEX transformers_owner ON transformers(owner_id, alias COLLATE NOCASE);

CREATE TABLE transformer_versions (
	transformer_id  TEXT NOT NULL REFERENCES transformers(id) ON DELETE CASCADE,
	version         INTEGER NOT NULL,
	source          TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	PRIMARY KEY (transformer_id, version)
) WITHOUT ROWID;

CREATE TABLE device_transformers (
	udid            TEXT NOT NULL REFERENCES devices(udid) ON DELETE CASCADE,
	transformer_id  TEXT NOT NULL REFERENCES transformers(id) ON DELETE CASCADE,
	position        INTEGER NOT NULL,
	PRIMARY KEY (udid, transformer_id)
) WITHOUT ROWID;
CREATE INDEX device_transformers_t ON device_transformers(transformer_id);
