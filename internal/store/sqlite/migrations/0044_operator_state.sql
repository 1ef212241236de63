-- An admin token's name is unique among working tokens only: a revoked
-- token keeps its record (the audit log names it) and its name can be
-- given to a new token.
CREATE TABLE admin_tokens_by_id (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE, -- SHA-256 of the token
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
INSERT INTO admin_tokens_by_id (name, hash, created_at, revoked_at)
	SELECT name, hash, created_at, revoked_at FROM admin_tokens ORDER BY created_at, name;
DROP TABLE admin_tokens;
ALTER TABLE admin_tokens_by_id RENAME TO admin_tokens;
CREATE UNIQUE INDEX admin_tokens_working_name ON admin_tokens (name) WHERE revoked_at IS NULL;

-- What every node's keyring must agree on: the longest certificate
-- lifetime any node issued with (microseconds), so a retired key stays
-- published until the last certificate it signed has expired.
CREATE TABLE keyring_state (
	name TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
);

-- What became of an audited action: "pending" while it runs (the record
-- is written before the action), then its HTTP status or "ok"/"error".
-- Records written before this column existed say ''.
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
