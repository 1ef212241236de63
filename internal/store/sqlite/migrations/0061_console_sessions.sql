-- Console sessions, kept in the store so any node serves them and a
-- restart signs nobody out. Only the SHA-256 of a session id is kept.
-- A session rests on exactly one credential: a console account or the
-- SHA-256 of an admin token; it is live only while that works.
CREATE TABLE console_sessions (
	id_hash    BLOB PRIMARY KEY,
	operator   TEXT NOT NULL,
	user_name  TEXT NOT NULL DEFAULT '',
	token_hash BLOB,
	csrf       TEXT NOT NULL,
	created_at INTEGER NOT NULL, -- Unix µs
	last_used  INTEGER NOT NULL,
	idle_until INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	CHECK ((user_name = '') <> (token_hash IS NULL))
) WITHOUT ROWID;
CREATE INDEX console_sessions_user ON console_sessions (user_name) WHERE user_name <> '';
CREATE INDEX console_sessions_token ON console_sessions (token_hash) WHERE token_hash IS NOT NULL;
