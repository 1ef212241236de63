package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herd-health/herd/internal/store"
)

var _ store.KeyringState = (*Store)(nil)

// NoteCertLifetime keeps the longest lifetime noted.
func (s *Store) NoteCertLifetime(ctx context.Context, d time.Duration) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO keyring_state (name, n) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET n = max(n, excluded.n)`, store.KeyringLongestLifetime, d.Microseconds()); err != nil {
		return fmt.Errorf("sqlite: note certificate lifetime: %w", err)
	}
	return nil
}

// LongestCertLifetime is the longest lifetime noted.
func (s *Store) LongestCertLifetime(ctx context.Context) (time.Duration, error) {
	var us int64
	err := s.r.QueryRowContext(ctx, `SELECT n FROM keyring_state WHERE name = ?`, store.KeyringLongestLifetime).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: longest certificate lifetime: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// KeysVersion is the number of signing keys: keys are only ever added.
func (s *Store) KeysVersion(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM signing_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: keys version: %w", err)
	}
	return n, nil
}

// ResealSecrets implements store.SecretSealing.
func (s *Store) ResealSecrets(ctx context.Context, names []string, reseal func(id string, v []byte) ([]byte, bool, error)) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: reseal secrets: %w", err)
	}
	defer tx.Rollback()
	type row struct {
		table, key string
		id         string
		v          []byte
	}
	var rows []row
	for _, name := range names {
		var v []byte
		err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: reseal secrets: %w", err)
		}
		rows = append(rows, row{"secrets", name, store.SecretAAD(name), v})
	}
	rps, err := tx.QueryContext(ctx, `SELECT audience, secret FROM relying_parties`)
	if err != nil {
		return 0, fmt.Errorf("sqlite: reseal secrets: %w", err)
	}
	for rps.Next() {
		var aud string
		var v []byte
		if err := rps.Scan(&aud, &v); err != nil {
			rps.Close()
			return 0, fmt.Errorf("sqlite: reseal secrets: %w", err)
		}
		rows = append(rows, row{"relying_parties", aud, store.RelyingPartyAAD(aud), v})
	}
	rps.Close()
	if err := rps.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: reseal secrets: %w", err)
	}
	n := 0
	for _, r := range rows {
		nv, changed, err := reseal(r.id, r.v)
		if err != nil {
			return 0, fmt.Errorf("sqlite: reseal %s: %w", r.id, err)
		}
		if !changed {
			continue
		}
		q := `UPDATE secrets SET value = ? WHERE name = ?`
		if r.table == "relying_parties" {
			q = `UPDATE relying_parties SET secret = ? WHERE audience = ?`
		}
		if _, err := tx.ExecContext(ctx, q, nv, r.key); err != nil {
			return 0, fmt.Errorf("sqlite: reseal %s: %w", r.id, err)
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: reseal secrets: %w", err)
	}
	return n, nil
}

var _ store.FirstKey = (*Store)(nil)

// AddFirstSigningKey implements store.FirstKey: one statement, atomic
// under SQLite's write lock.
func (s *Store) AddFirstSigningKey(ctx context.Context, k store.SigningKey) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys (kid, alg, private_key, public_key, created_at, retired_at)
		SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys)`,
		k.KID, k.Alg, nonNil(k.Private), nonNil(k.Public), k.CreatedAt.UnixMicro(), micros(k.RetiredAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: add first signing key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: add first signing key: %w", err)
	}
	return n == 1, nil
}
