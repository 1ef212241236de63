-- Token status lists and the certificates indexed in them.

CREATE TABLE status_lists (
	id         bigint PRIMARY KEY,
	size       bigint NOT NULL,
	allocated  bigint NOT NULL,
	bits       bytea NOT NULL,   -- revoked bits, index i at bit i%8 of byte i/8
	updated_at timestamptz NOT NULL
);

CREATE TABLE issued_certificates (
	jti            text PRIMARY KEY,
	device_id      text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	audience       text NOT NULL,
	list_id        bigint NOT NULL,
	idx            bigint NOT NULL,
	issued_at      timestamptz NOT NULL,
	expires_at     timestamptz NOT NULL,
	revoked_at     timestamptz,
	revoked_reason text
);

CREATE INDEX issued_certificates_device ON issued_certificates (device_id, expires_at);
