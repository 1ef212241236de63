-- Threat intelligence: indicators, the version of the live set sent to
-- devices, outside sightings and the questions they raise. Times are
-- Unix microseconds (UTC).

-- One row per (type, value, port), whatever feeds listed it. A removed
-- indicator stays (removed_version set) until its removal is forgotten,
-- so devices can be sent deltas.
CREATE TABLE indicators (
	type            TEXT NOT NULL,
	value           TEXT NOT NULL,
	port            INTEGER NOT NULL,
	sources         TEXT NOT NULL, -- sorted, newline-separated
	family          TEXT NOT NULL,
	confidence      INTEGER NOT NULL,
	first_seen      BIGINT,
	last_seen       BIGINT,
	refreshed_at    BIGINT NOT NULL,
	added_version   BIGINT NOT NULL,
	removed_version BIGINT,
	removed_at      BIGINT,
	PRIMARY KEY (type, value, port)
);
CREATE INDEX indicators_added ON indicators (added_version);
CREATE INDEX indicators_removed ON indicators (removed_version);
CREATE INDEX indicators_refreshed ON indicators (refreshed_at);

-- "version": the live set's version; "floor": deltas from before it are
-- no longer possible.
CREATE TABLE intel_meta (
	name TEXT PRIMARY KEY,
	n    BIGINT NOT NULL
);

CREATE TABLE sightings (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	ip          TEXT NOT NULL,
	seen_at     BIGINT NOT NULL,
	family      TEXT NOT NULL,
	c2          TEXT NOT NULL,
	source      TEXT NOT NULL,
	imported_at BIGINT NOT NULL
);

CREATE TABLE sighting_questions (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	sighting_id BIGINT NOT NULL REFERENCES sightings (id) ON DELETE CASCADE,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	c2          TEXT NOT NULL,
	family      TEXT NOT NULL,
	seen_at     BIGINT NOT NULL,
	window_us   BIGINT NOT NULL,
	created_at  BIGINT NOT NULL,
	answered_at BIGINT,
	confirmed   INTEGER NOT NULL DEFAULT 0,
	evidence    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sighting_questions_device ON sighting_questions (device_id, answered_at);

-- Sightings are matched against check-ins by source address and time.
CREATE INDEX checkins_source_ip ON checkins (source_ip, received_at);
