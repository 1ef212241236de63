-- Policy versions (id@version, canonical JSON) and the activations that
-- made one of them the policy every node appraises with.
CREATE TABLE policies (
	id         text NOT NULL,
	version    integer NOT NULL,
	body       bytea NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (id, version)
);

CREATE TABLE policy_activations (
	seq          bigserial PRIMARY KEY,
	id           text NOT NULL,
	version      integer NOT NULL,
	activated_at timestamptz NOT NULL,
	actor        text NOT NULL
);
