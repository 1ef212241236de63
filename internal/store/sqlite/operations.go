package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

var _ store.Operations = (*Store)(nil)

func conflictOr(err error, what string) error {
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%s: %w", what, store.ErrConflict)
	}
	return err
}

func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// CreateAdminToken adds t; ErrConflict when its name or hash exists.
func (s *Store) CreateAdminToken(ctx context.Context, t store.AdminToken) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO admin_tokens (name, hash, created_at) VALUES (?, ?, ?)`,
		t.Name, nonNil(t.Hash), t.CreatedAt.UnixMicro())
	if err := conflictOr(err, "admin token "+t.Name); err != nil {
		return fmt.Errorf("sqlite: create admin token: %w", err)
	}
	return nil
}

const adminTokenCols = `name, hash, created_at, revoked_at`

func scanAdminToken(sc interface{ Scan(...any) error }) (store.AdminToken, error) {
	var (
		t       store.AdminToken
		created int64
		revoked sql.NullInt64
	)
	err := sc.Scan(&t.Name, &t.Hash, &created, &revoked)
	t.CreatedAt = time.UnixMicro(created).UTC()
	t.RevokedAt = fromMicros(revoked)
	return t, err
}

// AdminTokenByHash returns the token with this hash.
func (s *Store) AdminTokenByHash(ctx context.Context, hash []byte) (store.AdminToken, error) {
	t, err := scanAdminToken(s.r.QueryRowContext(ctx, `SELECT `+adminTokenCols+` FROM admin_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.AdminToken{}, fmt.Errorf("admin token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.AdminToken{}, fmt.Errorf("sqlite: admin token: %w", err)
	}
	return t, nil
}

// AdminTokens lists every token by name.
func (s *Store) AdminTokens(ctx context.Context) ([]store.AdminToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+adminTokenCols+` FROM admin_tokens ORDER BY name, created_at`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: admin tokens: %w", err)
	}
	defer rows.Close()
	var out []store.AdminToken
	for rows.Next() {
		t, err := scanAdminToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: admin tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAdminToken revokes the named working token.
func (s *Store) RevokeAdminToken(ctx context.Context, name string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE admin_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`, at.UnixMicro(), name)
	return affected(res, err, "admin token "+name)
}

// AppendAudit appends one entry to the audit log.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, source_ip, outcome) VALUES (?, ?, ?, ?, ?, ?)`,
		e.At.UnixMicro(), e.Actor, e.Action, e.Target, e.SourceIP, e.Outcome); err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	return nil
}

// AuditLog returns entries newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, target, source_ip, outcome FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit log: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var (
			e  store.AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.SourceIP, &e.Outcome); err != nil {
			return nil, fmt.Errorf("sqlite: audit log: %w", err)
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListDevices returns devices ordered by id.
func (s *Store) ListDevices(ctx context.Context, f store.DeviceFilter) ([]store.Device, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1001 {
		limit = 1000
	}
	q := `SELECT id, public_key, os, enrolled_at, last_seen, last_verdict, last_policy FROM devices WHERE id > ?`
	args := []any{f.After}
	if f.IDPrefix != "" {
		q += ` AND substr(id, 1, ?) = ?`
		args = append(args, len(f.IDPrefix), f.IDPrefix)
	}
	if f.Verdict != "" {
		q += ` AND last_verdict = ?`
		args = append(args, string(f.Verdict))
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list devices: %w", err)
	}
	defer rows.Close()
	var out []store.Device
	for rows.Next() {
		var (
			d        store.Device
			enrolled int64
			seen     sql.NullInt64
			verdict  string
		)
		if err := rows.Scan(&d.ID, &d.PublicKey, &d.OS, &enrolled, &seen, &verdict, &d.LastPolicy); err != nil {
			return nil, fmt.Errorf("sqlite: list devices: %w", err)
		}
		d.EnrolledAt = time.UnixMicro(enrolled).UTC()
		d.LastSeen = fromMicros(seen)
		d.LastVerdict = health.Tier(verdict)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDevice deletes a device, its history and every row of any table
// with a device_id column, and takes it out of the running totals.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	defer tx.Rollback()
	var (
		verdict string
		popAt   sql.NullInt64
		mask    int64
	)
	err = tx.QueryRowContext(ctx, `SELECT last_verdict, pop_at, fail_mask FROM devices WHERE id = ?`, id).Scan(&verdict, &popAt, &mask)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("device %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	// A device that has checked in is counted in its latest failing
	// set's cohort count; it leaves it with its row.
	if popAt.Valid {
		if _, err := tx.StmtContext(ctx, s.pop.mask).ExecContext(ctx, mask, -1); err != nil {
			return fmt.Errorf("sqlite: delete device: %w", err)
		}
	}
	// Its live certificates are revoked before their rows go: the bits
	// live in the status lists, which stay.
	if err := revokeAllOfDevice(ctx, tx, id, time.Now()); err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	var tables []string
	rows, err := tx.QueryContext(ctx, `SELECT m.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c
		WHERE m.type = 'table' AND c.name = 'device_id' AND m.name <> 'checkins'`)
	if err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: delete device: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM "`+strings.ReplaceAll(t, `"`, `""`)+`" WHERE device_id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: delete device: %s: %w", t, err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM checkins WHERE device_id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	vd := 0
	if verdict != "" {
		vd = -1
	}
	if _, err := tx.StmtContext(ctx, s.upsCounters).ExecContext(ctx,
		sqldb.DevicesCounter, -1, sqldb.VerdictCounter(health.Tier(verdict)), vd, sqldb.CheckinsCounter, -n); err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	return nil
}

// ClearSourceIPs blanks source addresses of check-ins received before before.
func (s *Store) ClearSourceIPs(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE checkins SET source_ip = '' WHERE received_at < ? AND source_ip <> ''`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: clear source addresses: %w", err)
	}
	return res.RowsAffected()
}

// DeleteCheckinsBefore deletes history received before before and takes
// it out of the check-in total.
func (s *Store) DeleteCheckinsBefore(ctx context.Context, before time.Time) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete check-ins: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM checkins WHERE received_at < ?`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete check-ins: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET n = n - ? WHERE name = ?`, n, sqldb.CheckinsCounter); err != nil {
		return 0, fmt.Errorf("sqlite: delete check-ins: %w", err)
	}
	return n, tx.Commit()
}

// AddRelyingParty registers rp.
func (s *Store) AddRelyingParty(ctx context.Context, rp store.RelyingParty) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO relying_parties (audience, webhook_url, secret, created_at) VALUES (?, ?, ?, ?)`,
		rp.Audience, rp.WebhookURL, nonNil(rp.Secret), rp.CreatedAt.UnixMicro())
	if err := conflictOr(err, "relying party "+rp.Audience); err != nil {
		return fmt.Errorf("sqlite: add relying party: %w", err)
	}
	return nil
}

func (s *Store) relyingParties(ctx context.Context, q string, args ...any) ([]store.RelyingParty, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: relying parties: %w", err)
	}
	defer rows.Close()
	var out []store.RelyingParty
	for rows.Next() {
		var (
			rp store.RelyingParty
			at int64
		)
		if err := rows.Scan(&rp.Audience, &rp.WebhookURL, &rp.Secret, &at); err != nil {
			return nil, fmt.Errorf("sqlite: relying parties: %w", err)
		}
		rp.CreatedAt = time.UnixMicro(at).UTC()
		out = append(out, rp)
	}
	return out, rows.Err()
}

// RelyingParties lists them by audience.
func (s *Store) RelyingParties(ctx context.Context) ([]store.RelyingParty, error) {
	return s.relyingParties(ctx, `SELECT audience, webhook_url, secret, created_at FROM relying_parties ORDER BY audience`)
}

// RemoveRelyingParty removes one.
func (s *Store) RemoveRelyingParty(ctx context.Context, audience string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM relying_parties WHERE audience = ?`, audience)
	return affected(res, err, "relying party "+audience)
}

// RecordAudiences notes the device's audiences.
func (s *Store) RecordAudiences(ctx context.Context, deviceID string, audiences []string, at time.Time) error {
	if len(audiences) == 0 {
		return nil
	}
	q := `INSERT INTO device_audiences (device_id, audience, first_seen) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?),", len(audiences)), ",") + ` ON CONFLICT DO NOTHING`
	args := make([]any, 0, 3*len(audiences))
	for _, a := range audiences {
		args = append(args, deviceID, a, at.UnixMicro())
	}
	if _, err := s.w.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("sqlite: record audiences: %w", err)
	}
	return nil
}

// RelyingPartiesOf returns the relying parties that have seen the device.
func (s *Store) RelyingPartiesOf(ctx context.Context, deviceID string) ([]store.RelyingParty, error) {
	return s.relyingParties(ctx, `SELECT r.audience, r.webhook_url, r.secret, r.created_at
		FROM relying_parties AS r JOIN device_audiences AS d ON d.audience = r.audience
		WHERE d.device_id = ? ORDER BY r.audience`, deviceID)
}

// EnqueueEvents adds events, due at their CreatedAt.
func (s *Store) EnqueueEvents(ctx context.Context, evs []store.OutboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: enqueue events: %w", err)
	}
	defer tx.Rollback()
	for _, e := range evs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_outbox (event_id, audience, body, created_at, next_attempt) VALUES (?, ?, ?, ?, ?)`,
			e.EventID, e.Audience, nonNil(e.Body), e.CreatedAt.UnixMicro(), e.CreatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: enqueue events: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: enqueue events: %w", err)
	}
	return nil
}

const outboxCols = `id, event_id, audience, body, created_at, next_attempt, attempts, last_error, dead_at`

func scanEvents(rows *sql.Rows) ([]store.OutboxEvent, error) {
	defer rows.Close()
	var out []store.OutboxEvent
	for rows.Next() {
		var (
			e             store.OutboxEvent
			created, next int64
			dead          sql.NullInt64
		)
		if err := rows.Scan(&e.ID, &e.EventID, &e.Audience, &e.Body, &created, &next, &e.Attempts, &e.LastError, &dead); err != nil {
			return nil, err
		}
		e.CreatedAt = time.UnixMicro(created).UTC()
		e.NextAttempt = time.UnixMicro(next).UTC()
		e.DeadAt = fromMicros(dead)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ClaimEvents leases due events. The single writer connection serializes
// claims, so two dispatchers never lease the same event.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxEvent, error) {
	rows, err := s.w.QueryContext(ctx, `UPDATE webhook_outbox SET next_attempt = ?
		WHERE id IN (SELECT id FROM webhook_outbox WHERE dead_at IS NULL AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?)
		RETURNING `+outboxCols, now.Add(lease).UnixMicro(), now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim events: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim events: %w", err)
	}
	return evs, nil
}

// EventDelivered removes a delivered event.
func (s *Store) EventDelivered(ctx context.Context, id int64) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM webhook_outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: event delivered: %w", err)
	}
	return nil
}

// EventFailed records a failed attempt.
func (s *Store) EventFailed(ctx context.Context, id int64, attempts int, next time.Time, lastErr string, dead bool, now time.Time) error {
	var deadAt any
	if dead {
		deadAt = now.UnixMicro()
	}
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_outbox SET attempts = ?, next_attempt = ?, last_error = ?, dead_at = ? WHERE id = ?`,
		attempts, next.UnixMicro(), lastErr, deadAt, id)
	return affected(res, err, fmt.Sprintf("event %d", id))
}

// DeadEvents lists given-up events, newest first.
func (s *Store) DeadEvents(ctx context.Context, limit int) ([]store.OutboxEvent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+outboxCols+` FROM webhook_outbox WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: dead events: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: dead events: %w", err)
	}
	return evs, nil
}

// CreateEnrollmentToken adds t.
func (s *Store) CreateEnrollmentToken(ctx context.Context, t store.EnrollmentToken) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO enrollment_tokens (name, hash, created_at, expires_at, single_use) VALUES (?, ?, ?, ?, ?)`,
		t.Name, nonNil(t.Hash), t.CreatedAt.UnixMicro(), micros(t.ExpiresAt), t.SingleUse)
	if err := conflictOr(err, "enrollment token "+t.Name); err != nil {
		return fmt.Errorf("sqlite: create enrollment token: %w", err)
	}
	return nil
}

// EnrollmentTokens lists them by name.
func (s *Store) EnrollmentTokens(ctx context.Context) ([]store.EnrollmentToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, hash, created_at, expires_at, single_use, uses, revoked_at FROM enrollment_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: enrollment tokens: %w", err)
	}
	defer rows.Close()
	var out []store.EnrollmentToken
	for rows.Next() {
		var (
			t                store.EnrollmentToken
			created          int64
			expires, revoked sql.NullInt64
		)
		if err := rows.Scan(&t.Name, &t.Hash, &created, &expires, &t.SingleUse, &t.Uses, &revoked); err != nil {
			return nil, fmt.Errorf("sqlite: enrollment tokens: %w", err)
		}
		t.CreatedAt = time.UnixMicro(created).UTC()
		t.ExpiresAt = fromMicros(expires)
		t.RevokedAt = fromMicros(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeEnrollmentToken revokes a working token.
func (s *Store) RevokeEnrollmentToken(ctx context.Context, name string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE enrollment_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`, at.UnixMicro(), name)
	return affected(res, err, "enrollment token "+name)
}

// UseEnrollmentToken counts one use of a working token.
func (s *Store) UseEnrollmentToken(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var name string
	err := s.w.QueryRowContext(ctx, `UPDATE enrollment_tokens SET uses = uses + 1
		WHERE hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND (NOT single_use OR uses = 0)
		RETURNING name`, hash, now.UnixMicro()).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("enrollment token: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: use enrollment token: %w", err)
	}
	return name, nil
}

// revokeAllOfDevice sets the status bit of every certificate of the
// device not yet revoked, inside tx.
func revokeAllOfDevice(ctx context.Context, tx *sql.Tx, deviceID string, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT list_id, idx FROM issued_certificates WHERE device_id = ? AND revoked_at IS NULL`, deviceID)
	if err != nil {
		return err
	}
	byList := map[int64][]int64{}
	for rows.Next() {
		var list, idx int64
		if err := rows.Scan(&list, &idx); err != nil {
			rows.Close()
			return err
		}
		byList[list] = append(byList[list], idx)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(byList)) {
		var bits []byte
		if err := tx.QueryRowContext(ctx, `SELECT bits FROM status_lists WHERE id = ?`, id).Scan(&bits); err != nil {
			return fmt.Errorf("status list %d: %w", id, err)
		}
		for _, i := range byList[id] {
			bits = store.SetStatusBit(bits, i)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE status_lists SET bits = ?, updated_at = ? WHERE id = ?`, bits, now.UnixMicro(), id); err != nil {
			return err
		}
	}
	return nil
}
