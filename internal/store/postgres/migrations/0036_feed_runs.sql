-- What is remembered of each feed's imports, for the console's feeds
-- page. Times are Unix microseconds (UTC).
CREATE TABLE feed_runs (
	name         TEXT PRIMARY KEY,
	url          TEXT NOT NULL,
	last_success BIGINT,
	last_attempt BIGINT NOT NULL,
	last_error   TEXT NOT NULL DEFAULT ''
);
