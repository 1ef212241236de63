package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/internal/store"
)

var _ store.KeyringState = (*Store)(nil)

// NoteCertLifetime keeps the longest lifetime noted.
func (s *Store) NoteCertLifetime(ctx context.Context, d time.Duration) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO keyring_state (name, n) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET n = GREATEST(keyring_state.n, excluded.n)`, store.KeyringLongestLifetime, d.Microseconds()); err != nil {
		return fmt.Errorf("postgres: note certificate lifetime: %w", err)
	}
	return nil
}

// LongestCertLifetime is the longest lifetime noted.
func (s *Store) LongestCertLifetime(ctx context.Context) (time.Duration, error) {
	var us int64
	err := s.pool.QueryRow(ctx, `SELECT n FROM keyring_state WHERE name = $1`, store.KeyringLongestLifetime).Scan(&us)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: longest certificate lifetime: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// KeysVersion is the number of signing keys: keys are only ever added.
func (s *Store) KeysVersion(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM signing_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: keys version: %w", err)
	}
	return n, nil
}

// ResealSecrets implements store.SecretSealing. The rows are locked
// (FOR UPDATE): a second node resealing at the same time waits, then
// finds the values sealed.
func (s *Store) ResealSecrets(ctx context.Context, names []string, reseal func(id string, v []byte) ([]byte, bool, error)) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: reseal secrets: %w", err)
	}
	defer tx.Rollback(ctx)
	type row struct {
		rp  bool
		key string
		id  string
		v   []byte
	}
	var rows []row
	secrets, err := tx.Query(ctx, `SELECT name, value FROM secrets WHERE name = ANY($1) ORDER BY name FOR UPDATE`, names)
	if err != nil {
		return 0, fmt.Errorf("postgres: reseal secrets: %w", err)
	}
	for secrets.Next() {
		var r row
		if err := secrets.Scan(&r.key, &r.v); err != nil {
			secrets.Close()
			return 0, fmt.Errorf("postgres: reseal secrets: %w", err)
		}
		r.id = store.SecretAAD(r.key)
		rows = append(rows, r)
	}
	secrets.Close()
	if err := secrets.Err(); err != nil {
		return 0, fmt.Errorf("postgres: reseal secrets: %w", err)
	}
	rps, err := tx.Query(ctx, `SELECT audience, secret FROM relying_parties ORDER BY audience FOR UPDATE`)
	if err != nil {
		return 0, fmt.Errorf("postgres: reseal secrets: %w", err)
	}
	for rps.Next() {
		r := row{rp: true}
		if err := rps.Scan(&r.key, &r.v); err != nil {
			rps.Close()
			return 0, fmt.Errorf("postgres: reseal secrets: %w", err)
		}
		r.id = store.RelyingPartyAAD(r.key)
		rows = append(rows, r)
	}
	rps.Close()
	if err := rps.Err(); err != nil {
		return 0, fmt.Errorf("postgres: reseal secrets: %w", err)
	}
	n := 0
	for _, r := range rows {
		nv, changed, err := reseal(r.id, r.v)
		if err != nil {
			return 0, fmt.Errorf("postgres: reseal %s: %w", r.id, err)
		}
		if !changed {
			continue
		}
		q := `UPDATE secrets SET value = $1 WHERE name = $2`
		if r.rp {
			q = `UPDATE relying_parties SET secret = $1 WHERE audience = $2`
		}
		if _, err := tx.Exec(ctx, q, nv, r.key); err != nil {
			return 0, fmt.Errorf("postgres: reseal %s: %w", r.id, err)
		}
		n++
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: reseal secrets: %w", err)
	}
	return n, nil
}

var _ store.FirstKey = (*Store)(nil)

// firstKeyLock is the advisory lock that serialises first-key creation.
const firstKeyLock = 0x6865726b6579 // "herkey"

// AddFirstSigningKey implements store.FirstKey: under an advisory lock,
// so of nodes racing over an empty store only the first inserts.
func (s *Store) AddFirstSigningKey(ctx context.Context, k store.SigningKey) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: add first signing key: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, firstKeyLock); err != nil {
		return false, fmt.Errorf("postgres: add first signing key: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO signing_keys (kid, alg, private_key, public_key, created_at, retired_at)
		SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)`,
		k.KID, k.Alg, nonNil(k.Private), nonNil(k.Public), k.CreatedAt, ts(k.RetiredAt))
	if err != nil {
		return false, fmt.Errorf("postgres: add first signing key: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("postgres: add first signing key: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
