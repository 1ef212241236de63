-- Whole-population daily cells (pop_daily summed over every segment),
-- kept beside pop_daily by RecordCheckin so the console's overview reads
-- a few hundred rows instead of every segment's.
CREATE TABLE pop_daily_total (
	kind TEXT NOT NULL,
	day  TEXT NOT NULL,
	key  TEXT NOT NULL,
	n    INTEGER NOT NULL,
	PRIMARY KEY (kind, day, key)
) WITHOUT ROWID;

INSERT INTO pop_daily_total (kind, day, key, n)
	SELECT kind, day, key, SUM(n) FROM pop_daily GROUP BY kind, day, key;
