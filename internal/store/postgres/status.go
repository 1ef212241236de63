package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/herd-health/herd/internal/store"
)

var _ store.StatusLists = (*Store)(nil)

// ReserveStatusIndices hands out n fresh indices, as store.StatusLists
// describes. The counter row is updated in one statement, so concurrent
// nodes never get the same index; two nodes making the next list at once
// race on its id and the loser tries again.
func (s *Store) ReserveStatusIndices(ctx context.Context, n int, listSize int64) (int64, int64, error) {
	if n <= 0 || int64(n) > listSize {
		return 0, 0, fmt.Errorf("postgres: reserve status indices: %d indices do not fit a list of %d", n, listSize)
	}
	for attempt := 0; attempt < 20; attempt++ {
		var id, first int64
		err := s.pool.QueryRow(ctx, `UPDATE status_lists SET allocated = allocated + $1
			WHERE id = (SELECT max(id) FROM status_lists) AND allocated + $1 <= size
			RETURNING id, allocated - $1`, int64(n)).Scan(&id, &first)
		if err == nil {
			return id, first, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, 0, fmt.Errorf("postgres: reserve status indices: %w", err)
		}
		err = s.pool.QueryRow(ctx, `INSERT INTO status_lists (id, size, allocated, bits, updated_at)
			SELECT COALESCE(max(id), 0) + 1, $1, $2, '\x'::bytea, now() FROM status_lists
			ON CONFLICT (id) DO NOTHING RETURNING id`, listSize, int64(n)).Scan(&id)
		if err == nil {
			return id, 0, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, 0, fmt.Errorf("postgres: reserve status indices: %w", err)
		}
		// Another node made the next list first: take indices from it.
	}
	return 0, 0, errors.New("postgres: reserve status indices: too much contention making a new list")
}

// RecordCertificates records issued certificates in one statement.
func (s *Store) RecordCertificates(ctx context.Context, certs []store.IssuedCertificate) error {
	if len(certs) == 0 {
		return nil
	}
	n := len(certs)
	jti, dev, aud := make([]string, n), make([]string, n), make([]string, n)
	list, idx := make([]int64, n), make([]int64, n)
	iat, exp := make([]time.Time, n), make([]time.Time, n)
	for i, c := range certs {
		jti[i], dev[i], aud[i], list[i], idx[i], iat[i], exp[i] = c.JTI, c.DeviceID, c.Audience, c.ListID, c.Index, c.IssuedAt, c.ExpiresAt
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO issued_certificates (jti, device_id, audience, list_id, idx, issued_at, expires_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::timestamptz[], $7::timestamptz[])`,
		jti, dev, aud, list, idx, iat, exp)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503": // foreign_key_violation
			return fmt.Errorf("device of certificate: %w", store.ErrNotFound)
		case "23505": // unique_violation
			return fmt.Errorf("certificate: %w", store.ErrConflict)
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: record certificates: %w", err)
	}
	return nil
}

// RevokeDevice revokes a device's live certificates, as store.StatusLists
// describes. The lists' rows are locked in id order, so concurrent
// revocations never deadlock and never lose each other's bits.
func (s *Store) RevokeDevice(ctx context.Context, deviceID, reason string, now time.Time) ([]store.IssuedCertificate, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: revoke device: %w", err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `UPDATE issued_certificates SET revoked_at = $1, revoked_reason = $2
		WHERE device_id = $3 AND expires_at > $1 AND revoked_at IS NULL
		RETURNING jti, device_id, audience, list_id, idx, issued_at, expires_at`, now, reason, deviceID)
	if err != nil {
		return nil, fmt.Errorf("postgres: revoke device: %w", err)
	}
	var out []store.IssuedCertificate
	for rows.Next() {
		var c store.IssuedCertificate
		if err := rows.Scan(&c.JTI, &c.DeviceID, &c.Audience, &c.ListID, &c.Index, &c.IssuedAt, &c.ExpiresAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: revoke device: %w", err)
		}
		c.IssuedAt, c.ExpiresAt = c.IssuedAt.UTC(), c.ExpiresAt.UTC()
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: revoke device: %w", err)
	}
	byList := map[int64][]int64{}
	for _, c := range out {
		byList[c.ListID] = append(byList[c.ListID], c.Index)
	}
	ids := make([]int64, 0, len(byList))
	for id := range byList {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		var bits []byte
		if err := tx.QueryRow(ctx, `SELECT bits FROM status_lists WHERE id = $1 FOR UPDATE`, id).Scan(&bits); err != nil {
			return nil, fmt.Errorf("postgres: revoke device: status list %d: %w", id, err)
		}
		for _, i := range byList[id] {
			bits = store.SetStatusBit(bits, i)
		}
		if _, err := tx.Exec(ctx, `UPDATE status_lists SET bits = $1, updated_at = $2 WHERE id = $3`, bits, now, id); err != nil {
			return nil, fmt.Errorf("postgres: revoke device: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: revoke device: %w", err)
	}
	return out, nil
}

// StatusList returns one list; ErrNotFound when absent.
func (s *Store) StatusList(ctx context.Context, id int64) (store.StatusList, error) {
	l := store.StatusList{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT size, allocated, bits, updated_at FROM status_lists WHERE id = $1`, id).
		Scan(&l.Size, &l.Allocated, &l.Bits, &l.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.StatusList{}, fmt.Errorf("status list %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.StatusList{}, fmt.Errorf("postgres: status list: %w", err)
	}
	l.UpdatedAt = l.UpdatedAt.UTC()
	return l, nil
}

// DeleteExpiredCertificates forgets certificates that expired before now.
func (s *Store) DeleteExpiredCertificates(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM issued_certificates WHERE expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired certificates: %w", err)
	}
	return tag.RowsAffected(), nil
}
