-- Console accounts: operators who sign in with a password (bcrypt hash).
CREATE TABLE console_users (
	name          TEXT PRIMARY KEY,
	password_hash BYTEA NOT NULL,
	created_at    TIMESTAMPTZ NOT NULL,
	disabled_at   TIMESTAMPTZ
);
