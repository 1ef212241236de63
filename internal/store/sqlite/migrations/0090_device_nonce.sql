-- The latest challenge nonce each device used, for nonces issued to one
-- device: its check-ins must use ever later ones (store.DeviceNonce), so
-- no row per used nonce is written. A device that checked in before
-- starts from its last check-in: any nonce issued by then is refused.
ALTER TABLE devices ADD COLUMN nonce_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN nonce_random BLOB NOT NULL DEFAULT x'';
UPDATE devices SET nonce_at = last_seen, nonce_random = x'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'
	WHERE last_seen IS NOT NULL;
