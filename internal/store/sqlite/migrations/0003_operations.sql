-- Operators, relying parties and their webhooks, enrollment tokens.
-- Times are Unix microseconds (UTC); NULL stands for "never".

CREATE TABLE admin_tokens (
	name       TEXT PRIMARY KEY,
	hash       BLOB NOT NULL UNIQUE, -- SHA-256 of the token
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);

CREATE TABLE audit_log (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	target    TEXT NOT NULL,
	source_ip TEXT NOT NULL
);

CREATE TABLE relying_parties (
	audience    TEXT PRIMARY KEY,
	webhook_url TEXT NOT NULL,
	secret      BLOB NOT NULL,
	created_at  INTEGER NOT NULL
);

-- Which audiences each device asked certificates for.
CREATE TABLE device_audiences (
	device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	audience   TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	PRIMARY KEY (device_id, audience)
) WITHOUT ROWID;

-- Webhook events to deliver: a delivered event is deleted; one given up
-- keeps dead_at. next_attempt is also the lease of a dispatcher holding it.
CREATE TABLE webhook_outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id     TEXT NOT NULL,
	audience     TEXT NOT NULL,
	body         BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	dead_at      INTEGER
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt) WHERE dead_at IS NULL;

CREATE TABLE enrollment_tokens (
	name       TEXT PRIMARY KEY,
	hash       BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	single_use INTEGER NOT NULL,
	uses       INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER
);
