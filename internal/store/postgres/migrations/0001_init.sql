-- Hot aggregate rows (counters, per-day counts) are split into shards:
-- each check-in adds to one shard picked at random and readers sum the
-- shards, so concurrent check-ins do not queue on a single row lock.

CREATE TABLE nonces (
	value      text PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- Latest state per device: one row, updated by every check-in.
CREATE TABLE devices (
	id           text PRIMARY KEY,
	public_key   bytea NOT NULL,
	os           text NOT NULL,
	enrolled_at  timestamptz NOT NULL,
	last_seen    timestamptz,
	last_verdict text NOT NULL DEFAULT '',
	last_policy  text NOT NULL DEFAULT ''
);

-- History: append-only.
CREATE TABLE checkins (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	device_id   text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	received_at timestamptz NOT NULL,
	verdict     text NOT NULL,
	policy_id   text NOT NULL,
	findings    jsonb NOT NULL,
	os          text NOT NULL,
	os_version  text NOT NULL,
	agent       text NOT NULL,
	statement   bytea NOT NULL,
	source_ip   text NOT NULL
);
CREATE INDEX checkins_device_time ON checkins (device_id, received_at DESC, id DESC);
CREATE INDEX checkins_received_at ON checkins (received_at);

-- Check-ins per day (UTC), verdict and OS, kept in the check-in's statement.
CREATE TABLE checkin_daily (
	day     date NOT NULL,
	verdict text NOT NULL,
	os      text NOT NULL,
	shard   smallint NOT NULL,
	n       bigint NOT NULL,
	PRIMARY KEY (day, verdict, os, shard)
);

-- Running totals for Stats: "devices", "checkins", "verdict:<tier>"
-- (devices by their latest verdict).
CREATE TABLE counters (
	name  text NOT NULL,
	shard smallint NOT NULL,
	n     bigint NOT NULL,
	PRIMARY KEY (name, shard)
);

CREATE TABLE signing_keys (
	seq         bigint GENERATED ALWAYS AS IDENTITY,
	kid         text PRIMARY KEY,
	alg         text NOT NULL,
	private_key bytea NOT NULL,
	public_key  bytea NOT NULL,
	created_at  timestamptz NOT NULL,
	retired_at  timestamptz
);

CREATE TABLE secrets (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);
