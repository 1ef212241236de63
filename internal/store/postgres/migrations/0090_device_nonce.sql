-- The latest challenge nonce each device used, for nonces issued to one
-- device: its check-ins must use ever later ones (store.DeviceNonce), so
-- no row per used nonce is written. A device that checked in before
-- starts from its last check-in: any nonce issued by then is refused.
ALTER TABLE devices ADD COLUMN nonce_at bigint NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN nonce_random bytea NOT NULL DEFAULT '';
UPDATE devices SET nonce_at = (extract(epoch FROM last_seen) * 1000000)::bigint,
	nonce_random = decode(repeat('ff', 32), 'hex')
	WHERE last_seen IS NOT NULL;
