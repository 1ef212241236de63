package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herd-health/herd/internal/store"
)

var _ store.UsedNonces = (*Store)(nil)

// ckStmts are the statements a check-in runs besides those in sqlite.go.
type ckStmts struct {
	useNonce *sql.Stmt // a used challenge nonce
	sel      *sql.Stmt // the device row: latest verdict, OS and population state
	upd      *sql.Stmt // the device row's latest and population state
	// updLatest sets the device row's latest state only (no population
	// step).
	updLatest *sql.Stmt
	insCert   *sql.Stmt // an issued certificate
}

func (s *Store) prepareCheckin(ctx context.Context) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.ck.useNonce, `INSERT INTO used_nonces (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`},
		{&s.ck.sel, `SELECT last_verdict, os, pop_at, pop_verdict, pop_os, pop_os_version, pop_agent, pop_country, fail_mask, pop_infected_day, nonce_at, nonce_random FROM devices WHERE id = ?`},
		{&s.ck.upd, `UPDATE devices SET last_seen = ?, last_verdict = ?, last_policy = ?,
			pop_at = ?, pop_verdict = ?, pop_os = ?, pop_os_version = ?, pop_agent = ?, pop_country = ?, fail_mask = ?, pop_infected_day = ?,
			nonce_at = ?, nonce_random = ? WHERE id = ?`},
		{&s.ck.updLatest, `UPDATE devices SET last_seen = ?, last_verdict = ?, last_policy = ?, nonce_at = ?, nonce_random = ? WHERE id = ?`},
		{&s.ck.insCert, `INSERT INTO issued_certificates (jti, device_id, audience, list_id, idx, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`},
	} {
		st, err := s.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// UseNonce records a used challenge nonce, as store.UsedNonces describes.
func (s *Store) UseNonce(ctx context.Context, key []byte, expires time.Time) error {
	if len(key) == 0 {
		return fmt.Errorf("sqlite: use nonce: empty key")
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.useNonceTx(ctx, tx, key, expires)
	})
}

// DeviceNonceUsed reports whether the device has used n or a later
// nonce, from the read pool.
func (s *Store) DeviceNonceUsed(ctx context.Context, deviceID string, n store.DeviceNonce) (bool, error) {
	var (
		at     int64
		random []byte
	)
	err := s.r.QueryRowContext(ctx, `SELECT nonce_at, nonce_random FROM devices WHERE id = ?`, deviceID).Scan(&at, &random)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlite: device nonce used: %w", err)
	}
	return !n.After(at, random), nil
}

// NonceUsed reports whether key was used, from the read pool.
func (s *Store) NonceUsed(ctx context.Context, key []byte) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM used_nonces WHERE key = ?`, key).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlite: nonce used: %w", err)
	}
	return true, nil
}

// useNonceTx records key as used in tx; ErrNonceUnknown when it was. An
// empty key (a caller that consumed its nonce otherwise) records nothing.
func (s *Store) useNonceTx(ctx context.Context, tx *sql.Tx, key []byte, expires time.Time) error {
	if len(key) == 0 {
		return nil
	}
	res, err := tx.StmtContext(ctx, s.ck.useNonce).ExecContext(ctx, key, expires.UnixMicro())
	if err != nil {
		return fmt.Errorf("sqlite: use nonce: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: use nonce: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("nonce: %w", store.ErrNonceUnknown)
	}
	return nil
}

// recordCertificatesTx records certificates in tx.
func (s *Store) recordCertificatesTx(ctx context.Context, tx *sql.Tx, certs []store.IssuedCertificate) error {
	for _, c := range certs {
		_, err := tx.StmtContext(ctx, s.ck.insCert).ExecContext(ctx,
			c.JTI, c.DeviceID, c.Audience, c.ListID, c.Index, c.IssuedAt.UnixMicro(), c.ExpiresAt.UnixMicro())
		if err != nil {
			switch constraintCode(err) {
			case 787: // SQLITE_CONSTRAINT_FOREIGNKEY
				return fmt.Errorf("device %s: %w", c.DeviceID, store.ErrNotFound)
			case 1555, 2067: // SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE
				return fmt.Errorf("certificate %s: %w", c.JTI, store.ErrConflict)
			}
			return fmt.Errorf("sqlite: record certificates: %w", err)
		}
	}
	return nil
}

// deleteExpiredUsedNonces removes used nonces past their expiry.
func (s *Store) deleteExpiredUsedNonces(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM used_nonces WHERE expires_at < ?`, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired used nonces: %w", err)
	}
	return res.RowsAffected()
}
