-- Times are Unix microseconds (UTC); NULL stands for "never".

CREATE TABLE nonces (
	value      TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- Latest state per device: one row, updated by every check-in.
CREATE TABLE devices (
	id           TEXT PRIMARY KEY,
	public_key   BLOB NOT NULL,
	os           TEXT NOT NULL,
	enrolled_at  INTEGER NOT NULL,
	last_seen    INTEGER,
	last_verdict TEXT NOT NULL DEFAULT '',
	last_policy  TEXT NOT NULL DEFAULT ''
);

-- History: append-only.
CREATE TABLE checkins (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	received_at INTEGER NOT NULL,
	verdict     TEXT NOT NULL,
	policy_id   TEXT NOT NULL,
	findings    TEXT NOT NULL,
	os          TEXT NOT NULL,
	os_version  TEXT NOT NULL,
	agent       TEXT NOT NULL,
	statement   BLOB NOT NULL,
	source_ip   TEXT NOT NULL
);
CREATE INDEX checkins_device_time ON checkins (device_id, received_at DESC, id DESC);
CREATE INDEX checkins_received_at ON checkins (received_at);

-- Check-ins per day, verdict and OS, kept in the check-in's transaction.
CREATE TABLE checkin_daily (
	day     TEXT NOT NULL, -- YYYY-MM-DD, UTC
	verdict TEXT NOT NULL,
	os      TEXT NOT NULL,
	n       INTEGER NOT NULL,
	PRIMARY KEY (day, verdict, os)
) WITHOUT ROWID;

-- Running totals for Stats: "devices", "checkins", "verdict:<tier>"
-- (devices by their latest verdict).
CREATE TABLE counters (
	name TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE signing_keys (
	kid         TEXT PRIMARY KEY,
	alg         TEXT NOT NULL,
	private_key BLOB NOT NULL,
	public_key  BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	retired_at  INTEGER
);

CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
