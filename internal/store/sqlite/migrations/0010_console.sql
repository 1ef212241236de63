-- Console accounts: operators who sign in with a password (bcrypt hash).
CREATE TABLE console_users (
	name          TEXT PRIMARY KEY,
	password_hash BLOB NOT NULL,
	created_at    INTEGER NOT NULL,
	disabled_at   INTEGER
);
