-- Population statistics kept by RecordCheckin (see store.PopulationStats).

-- The check-in the aggregates count each device with.
ALTER TABLE devices ADD COLUMN pop_at INTEGER; -- receive time, Unix µs
ALTER TABLE devices ADD COLUMN pop_verdict TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN pop_os TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN pop_os_version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN pop_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN pop_country TEXT NOT NULL DEFAULT '';
-- Latest failing checks: bit i is health.CheckIDs[i].
ALTER TABLE devices ADD COLUMN fail_mask INTEGER NOT NULL DEFAULT 0;
CREATE INDEX devices_fail_mask ON devices (fail_mask, id) WHERE pop_at IS NOT NULL;

-- Devices per day and segment: kind 'verdict' (key: tier), 'failing'
-- (key: check id), 'infection' (key: malware family).
CREATE TABLE pop_daily (
	kind       TEXT NOT NULL,
	day        TEXT NOT NULL, -- YYYY-MM-DD, UTC
	os         TEXT NOT NULL,
	os_version TEXT NOT NULL,
	agent      TEXT NOT NULL,
	country    TEXT NOT NULL,
	key        TEXT NOT NULL,
	n          INTEGER NOT NULL,
	PRIMARY KEY (kind, day, os, os_version, agent, country, key)
) WITHOUT ROWID;

-- Devices by latest failing set.
CREATE TABLE pop_masks (
	mask INTEGER PRIMARY KEY,
	n    INTEGER NOT NULL
);

CREATE TABLE pop_alerts (
	key        TEXT PRIMARY KEY,
	day        TEXT NOT NULL,
	detector   TEXT NOT NULL,
	family     TEXT NOT NULL,
	segment    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	body       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX pop_alerts_day ON pop_alerts (day);

-- Sharing partners (TAXII): SHA-256 of each partner's token.
CREATE TABLE partners (
	token_hash BLOB PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);
