-- Challenge nonces that were answered. Challenges themselves are not
-- stored: the authority MACs them, so issuing one writes nothing; using
-- one inserts its key here, once, in the transaction of what it was used
-- for. Rows go when the nonce has expired (it is refused by then anyway).
CREATE TABLE used_nonces (
	key        bytea PRIMARY KEY,
	expires_at timestamptz NOT NULL
);

CREATE INDEX used_nonces_expires_at ON used_nonces (expires_at);
