-- Token status lists and the certificates indexed in them.

CREATE TABLE status_lists (
	id         INTEGER PRIMARY KEY,
	size       INTEGER NOT NULL,
	allocated  INTEGER NOT NULL,
	bits       BLOB NOT NULL,    -- revoked bits, index i at bit i%8 of byte i/8
	updated_at INTEGER NOT NULL  -- Unix microseconds
);

CREATE TABLE issued_certificates (
	jti            TEXT PRIMARY KEY,
	device_id      TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	audience       TEXT NOT NULL,
	list_id        INTEGER NOT NULL,
	idx            INTEGER NOT NULL,
	issued_at      INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	revoked_at     INTEGER,
	revoked_reason TEXT
);

CREATE INDEX issued_certificates_device ON issued_certificates (device_id, expires_at);
