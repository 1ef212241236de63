-- Operators, relying parties and their webhooks, enrollment tokens.

CREATE TABLE admin_tokens (
	name       text PRIMARY KEY,
	hash       bytea NOT NULL UNIQUE, -- SHA-256 of the token
	created_at timestamptz NOT NULL,
	revoked_at timestamptz
);

CREATE TABLE audit_log (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at        timestamptz NOT NULL,
	actor     text NOT NULL,
	action    text NOT NULL,
	target    text NOT NULL,
	source_ip text NOT NULL
);

CREATE TABLE relying_parties (
	audience    text PRIMARY KEY,
	webhook_url text NOT NULL,
	secret      bytea NOT NULL,
	created_at  timestamptz NOT NULL
);

-- Which audiences each device asked certificates for.
CREATE TABLE device_audiences (
	device_id  text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	audience   text NOT NULL,
	first_seen timestamptz NOT NULL,
	PRIMARY KEY (device_id, audience)
);

-- Webhook events to deliver: a delivered event is deleted; one given up
-- keeps dead_at. next_attempt is also the lease of a dispatcher holding it.
CREATE TABLE webhook_outbox (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id     text NOT NULL,
	audience     text NOT NULL,
	body         bytea NOT NULL,
	created_at   timestamptz NOT NULL,
	next_attempt timestamptz NOT NULL,
	attempts     integer NOT NULL DEFAULT 0,
	last_error   text NOT NULL DEFAULT '',
	dead_at      timestamptz
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt) WHERE dead_at IS NULL;

CREATE TABLE enrollment_tokens (
	name       text PRIMARY KEY,
	hash       bytea NOT NULL UNIQUE,
	created_at timestamptz NOT NULL,
	expires_at timestamptz,
	single_use boolean NOT NULL,
	uses       bigint NOT NULL DEFAULT 0,
	revoked_at timestamptz
);
