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
