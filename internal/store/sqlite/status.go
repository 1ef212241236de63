package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/herd-health/herd/internal/store"
)

var _ store.StatusLists = (*Store)(nil)

// ReserveStatusIndices hands out n fresh indices, as store.StatusLists
// describes.
func (s *Store) ReserveStatusIndices(ctx context.Context, n int, listSize int64) (int64, int64, error) {
	if n <= 0 || int64(n) > listSize {
		return 0, 0, fmt.Errorf("sqlite: reserve status indices: %d indices do not fit a list of %d", n, listSize)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: reserve status indices: %w", err)
	}
	defer tx.Rollback()
	var id, first int64
	err = tx.QueryRowContext(ctx, `UPDATE status_lists SET allocated = allocated + ?1
		WHERE id = (SELECT MAX(id) FROM status_lists) AND allocated + ?1 <= size
		RETURNING id, allocated - ?1`, n).Scan(&id, &first)
	if errors.Is(err, sql.ErrNoRows) {
		first = 0
		err = tx.QueryRowContext(ctx, `INSERT INTO status_lists (id, size, allocated, bits, updated_at)
			SELECT COALESCE(MAX(id), 0) + 1, ?, ?, x'', ? FROM status_lists RETURNING id`,
			listSize, n, time.Now().UnixMicro()).Scan(&id)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: reserve status indices: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("sqlite: reserve status indices: %w", err)
	}
	return id, first, nil
}

// RecordCertificates records issued certificates in one transaction.
func (s *Store) RecordCertificates(ctx context.Context, certs []store.IssuedCertificate) error {
	if len(certs) == 0 {
		return nil
	}
	var known error
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, c := range certs {
			_, err := tx.ExecContext(ctx, `INSERT INTO issued_certificates
			(jti, device_id, audience, list_id, idx, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				c.JTI, c.DeviceID, c.Audience, c.ListID, c.Index, c.IssuedAt.UnixMicro(), c.ExpiresAt.UnixMicro())
			if err != nil {
				switch constraintCode(err) {
				case 787: // SQLITE_CONSTRAINT_FOREIGNKEY
					known = fmt.Errorf("device %s: %w", c.DeviceID, store.ErrNotFound)
					return known
				case 1555, 2067: // SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE
					known = fmt.Errorf("certificate %s: %w", c.JTI, store.ErrConflict)
					return known
				}
				return err
			}
		}
		return nil
	})
	if known != nil && errors.Is(err, known) {
		return known
	}
	if err != nil {
		return fmt.Errorf("sqlite: record certificates: %w", err)
	}
	return nil
}

// constraintCode is the extended SQLite result code of err, 0 when it
// has none.
func constraintCode(err error) int {
	var coder interface{ Code() int }
	if errors.As(err, &coder) {
		return coder.Code()
	}
	return 0
}

// RevokeDevice revokes a device's live certificates, as store.StatusLists
// describes.
func (s *Store) RevokeDevice(ctx context.Context, deviceID, reason string, now time.Time) ([]store.IssuedCertificate, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: revoke device: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `UPDATE issued_certificates SET revoked_at = ?, revoked_reason = ?
		WHERE device_id = ? AND expires_at > ? AND revoked_at IS NULL
		RETURNING jti, device_id, audience, list_id, idx, issued_at, expires_at`,
		now.UnixMicro(), reason, deviceID, now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sqlite: revoke device: %w", err)
	}
	var out []store.IssuedCertificate
	for rows.Next() {
		var c store.IssuedCertificate
		var iat, exp int64
		if err := rows.Scan(&c.JTI, &c.DeviceID, &c.Audience, &c.ListID, &c.Index, &iat, &exp); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: revoke device: %w", err)
		}
		c.IssuedAt, c.ExpiresAt = time.UnixMicro(iat).UTC(), time.UnixMicro(exp).UTC()
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: revoke device: %w", err)
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
		if err := tx.QueryRowContext(ctx, `SELECT bits FROM status_lists WHERE id = ?`, id).Scan(&bits); err != nil {
			return nil, fmt.Errorf("sqlite: revoke device: status list %d: %w", id, err)
		}
		for _, i := range byList[id] {
			bits = store.SetStatusBit(bits, i)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE status_lists SET bits = ?, updated_at = ? WHERE id = ?`, bits, now.UnixMicro(), id); err != nil {
			return nil, fmt.Errorf("sqlite: revoke device: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: revoke device: %w", err)
	}
	return out, nil
}

// StatusList returns one list; ErrNotFound when absent.
func (s *Store) StatusList(ctx context.Context, id int64) (store.StatusList, error) {
	l := store.StatusList{ID: id}
	var updated int64
	err := s.r.QueryRowContext(ctx, `SELECT size, allocated, bits, updated_at FROM status_lists WHERE id = ?`, id).
		Scan(&l.Size, &l.Allocated, &l.Bits, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return store.StatusList{}, fmt.Errorf("status list %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.StatusList{}, fmt.Errorf("sqlite: status list: %w", err)
	}
	l.UpdatedAt = time.UnixMicro(updated).UTC()
	return l, nil
}

// DeleteExpiredCertificates forgets certificates that expired before now.
func (s *Store) DeleteExpiredCertificates(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM issued_certificates WHERE expires_at < ?`, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired certificates: %w", err)
	}
	return res.RowsAffected()
}
