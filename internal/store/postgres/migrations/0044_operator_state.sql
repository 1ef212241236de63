-- An admin token's name is unique among working tokens only: a revoked
-- token keeps its record (the audit log names it) and its name can be
-- given to a new token.
ALTER TABLE admin_tokens DROP CONSTRAINT admin_tokens_pkey;
ALTER TABLE admin_tokens ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
CREATE UNIQUE INDEX admin_tokens_working_name ON admin_tokens (name) WHERE revoked_at IS NULL;

-- What every node's keyring must agree on: the longest certificate
-- lifetime any node issued with (microseconds), so a retired key stays
-- published until the last certificate it signed has expired.
CREATE TABLE keyring_state (
	name text PRIMARY KEY,
	n    bigint NOT NULL
);

-- What became of an audited action: "pending" while it runs (the record
-- is written before the action), then its HTTP status or "ok"/"error".
-- Records written before this column existed say ''.
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
