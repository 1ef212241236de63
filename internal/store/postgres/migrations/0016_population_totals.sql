-- Whole-population daily cells (pop_daily summed over every segment),
-- kept beside pop_daily by RecordCheckin so the console's overview reads
-- a few thousand rows instead of every segment's. Sharded like pop_daily
-- (every check-in adds to the same few cells); readers sum the shards.
CREATE TABLE pop_daily_total (
	kind  text NOT NULL,
	day   date NOT NULL,
	key   text NOT NULL,
	shard smallint NOT NULL,
	n     bigint NOT NULL,
	PRIMARY KEY (kind, day, key, shard)
);

INSERT INTO pop_daily_total (kind, day, key, shard, n)
	SELECT kind, day, key, 0, sum(n) FROM pop_daily GROUP BY kind, day, key;
