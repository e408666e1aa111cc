-- The embedded MQTT broker: its persistent state (sessions, subscriptions,
-- in-flight QoS 1/2 messages, retained messages), the per-owner message
-- history and the bridges to external brokers.
-- Broker state rows hold the broker's own JSON encoding; the broker writes
-- them in batches, so one file stays the whole state of the appliance.

CREATE TABLE mqtt_clients (
	id          TEXT PRIMARY KEY,           -- broker-internal client ID (login name | client ID)
	data        BLOB NOT NULL,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE mqtt_subscriptions (
	client  TEXT NOT NULL,
	filter  TEXT NOT NULL,
	data    BLOB NOT NULL,
	PRIMARY KEY (client, filter)
) WITHOUT ROWID;

CREATE TABLE mqtt_inflight (
	client     TEXT NOT NULL,
	packet_id  TEXT NOT NULL,
	data       BLOB NOT NULL,
	PRIMARY KEY (client, packet_id)
) WITHOUT ROWID;

CREATE TABLE mqtt_retained (
	topic       TEXT PRIMARY KEY,
	data        BLOB NOT NULL,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE mqtt_sysinfo (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	data  BLOB NOT NULL
);

-- Messages seen in an owner's topic tree, kept for a limited time and count.
CREATE TABLE mqtt_history (
	id        INTEGER PRIMARY KEY,
	owner_id  TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	udid      TEXT NOT NULL DEFAULT '',     -- the device of the topic, '' for shared and mesh topics
	topic     TEXT NOT NULL,
	payload   BLOB NOT NULL,                -- cut at the configured cap
	size      INTEGER NOT NULL,             -- the payload's full size
	client    TEXT NOT NULL DEFAULT '',     -- the sender's client ID, '' for the server
	qos       INTEGER NOT NULL DEFAULT 0,
	retained  INTEGER NOT NULL DEFAULT 0,
	at        INTEGER NOT NULL
);
CREATE INDEX mqtt_history_owner ON mqtt_history(owner_id, id);
CREATE INDEX mqtt_history_device ON mqtt_history(owner_id, udid, id);
CREATE INDEX mqtt_history_at ON mqtt_history(at);

-- Forwarding of chosen topics to an external broker, and optionally back.
CREATE TABLE mqtt_bridges (
	id             INTEGER PRIMARY KEY,
	owner_id       TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	url            TEXT NOT NULL,
	client_id      TEXT NOT NULL DEFAULT '',
	username       TEXT NOT NULL DEFAULT '',
	password_enc   BLOB,                    -- AES-GCM sealed with an installation secret
	ca_cert        TEXT NOT NULL DEFAULT '',
	insecure       INTEGER NOT NULL DEFAULT 0,
	forward        TEXT NOT NULL DEFAULT '[]',   -- local topic filters, JSON list
	subscribe      TEXT NOT NULL DEFAULT '[]',   -- remote topic filters, JSON list
	remote_prefix  TEXT NOT NULL DEFAULT '',
	qos            INTEGER NOT NULL DEFAULT 0,
	enabled        INTEGER NOT NULL DEFAULT 1,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	UNIQUE (owner_id, name)
);
