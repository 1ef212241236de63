-- Population statistics kept by RecordCheckin (see store.PopulationStats).

-- The check-in the aggregates count each device with.
ALTER TABLE devices
	ADD COLUMN pop_at timestamptz,
	ADD COLUMN pop_verdict text NOT NULL DEFAULT '',
	ADD COLUMN pop_os text NOT NULL DEFAULT '',
	ADD COLUMN pop_os_version text NOT NULL DEFAULT '',
	ADD COLUMN pop_agent text NOT NULL DEFAULT '',
	ADD COLUMN pop_country text NOT NULL DEFAULT '',
	-- Latest failing checks: bit i is health.CheckIDs[i].
	ADD COLUMN fail_mask integer NOT NULL DEFAULT 0;
CREATE INDEX devices_fail_mask ON devices (fail_mask, id) WHERE pop_at IS NOT NULL;

-- Devices per day and segment: kind 'verdict' (key: tier), 'failing'
-- (key: check id), 'infection' (key: malware family). Sharded like
-- checkin_daily; readers sum the shards.
CREATE TABLE pop_daily (
	kind       text NOT NULL,
	day        date NOT NULL,
	os         text NOT NULL,
	os_version text NOT NULL,
	agent      text NOT NULL,
	country    text NOT NULL,
	key        text NOT NULL,
	shard      smallint NOT NULL,
	n          bigint NOT NULL,
	PRIMARY KEY (kind, day, os, os_version, agent, country, key, shard)
);

-- Devices by latest failing set, sharded.
CREATE TABLE pop_masks (
	mask  integer NOT NULL,
	shard smallint NOT NULL,
	n     bigint NOT NULL,
	PRIMARY KEY (mask, shard)
);

CREATE TABLE pop_alerts (
	key        text PRIMARY KEY,
	day        date NOT NULL,
	detector   text NOT NULL,
	family     text NOT NULL,
	segment    text NOT NULL,
	created_at timestamptz NOT NULL,
	body       jsonb NOT NULL
);
CREATE INDEX pop_alerts_day ON pop_alerts (day);

-- Sharing partners (TAXII): SHA-256 of each partner's token.
CREATE TABLE partners (
	token_hash bytea PRIMARY KEY,
	name       text NOT NULL UNIQUE,
	created_at timestamptz NOT NULL
);
