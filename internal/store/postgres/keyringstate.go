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
