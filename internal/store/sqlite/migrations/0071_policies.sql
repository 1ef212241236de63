-- Policy versions (id@version, canonical JSON) and the activations that
-- made one of them the policy every node appraises with.
CREATE TABLE policies (
	id         TEXT NOT NULL,
	version    INTEGER NOT NULL,
	body       BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (id, version)
);

CREATE TABLE policy_activations (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL,
	version      INTEGER NOT NULL,
	activated_at INTEGER NOT NULL,
	actor        TEXT NOT NULL
);
