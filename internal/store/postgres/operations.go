package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

var _ store.Operations = (*Store)(nil)

func conflictOr(err error, what string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%s: %w", what, store.ErrConflict)
	}
	return err
}

func affected(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// CreateAdminToken adds t; ErrConflict when its name or hash exists.
func (s *Store) CreateAdminToken(ctx context.Context, t store.AdminToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_tokens (name, hash, created_at) VALUES ($1, $2, $3)`, t.Name, nonNil(t.Hash), t.CreatedAt)
	if err := conflictOr(err, "admin token "+t.Name); err != nil {
		return fmt.Errorf("postgres: create admin token: %w", err)
	}
	return nil
}

const adminTokenCols = `name, hash, created_at, revoked_at`

func scanAdminToken(sc interface{ Scan(...any) error }) (store.AdminToken, error) {
	var (
		t       store.AdminToken
		revoked pgtype.Timestamptz
	)
	err := sc.Scan(&t.Name, &t.Hash, &t.CreatedAt, &revoked)
	t.CreatedAt = t.CreatedAt.UTC()
	t.RevokedAt = fromTS(revoked)
	return t, err
}

// AdminTokenByHash returns the token with this hash.
func (s *Store) AdminTokenByHash(ctx context.Context, hash []byte) (store.AdminToken, error) {
	t, err := scanAdminToken(s.pool.QueryRow(ctx, `SELECT `+adminTokenCols+` FROM admin_tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.AdminToken{}, fmt.Errorf("admin token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.AdminToken{}, fmt.Errorf("postgres: admin token: %w", err)
	}
	return t, nil
}

// AdminTokens lists every token by name.
func (s *Store) AdminTokens(ctx context.Context) ([]store.AdminToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+adminTokenCols+` FROM admin_tokens ORDER BY name, created_at`)
	if err != nil {
		return nil, fmt.Errorf("postgres: admin tokens: %w", err)
	}
	defer rows.Close()
	var out []store.AdminToken
	for rows.Next() {
		t, err := scanAdminToken(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: admin tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAdminToken revokes the named working token.
func (s *Store) RevokeAdminToken(ctx context.Context, name string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE admin_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL`, at, name)
	return affected(tag, err, "admin token "+name)
}

// AppendAudit appends one entry to the audit log.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_log (at, actor, action, target, source_ip, outcome) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.At, e.Actor, e.Action, e.Target, e.SourceIP, e.Outcome); err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	return nil
}

// AuditLog returns entries newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, target, source_ip, outcome FROM audit_log ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit log: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &e.SourceIP, &e.Outcome); err != nil {
			return nil, fmt.Errorf("postgres: audit log: %w", err)
		}
		e.At = e.At.UTC()
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
	rows, err := s.pool.Query(ctx, `SELECT id, public_key, os, enrolled_at, last_seen, last_verdict, last_policy FROM devices
		WHERE id COLLATE "C" > $1 AND ($2 = '' OR left(id, length($2)) = $2) AND ($3 = '' OR last_verdict = $3)
		ORDER BY id COLLATE "C" LIMIT $4`, f.After, f.IDPrefix, string(f.Verdict), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list devices: %w", err)
	}
	defer rows.Close()
	var out []store.Device
	for rows.Next() {
		var (
			d       store.Device
			seen    pgtype.Timestamptz
			verdict string
		)
		if err := rows.Scan(&d.ID, &d.PublicKey, &d.OS, &d.EnrolledAt, &seen, &verdict, &d.LastPolicy); err != nil {
			return nil, fmt.Errorf("postgres: list devices: %w", err)
		}
		d.EnrolledAt = d.EnrolledAt.UTC()
		d.LastSeen = fromTS(seen)
		d.LastVerdict = health.Tier(verdict)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDevice deletes a device, its history and every row of any table
// with a device_id column, and takes it out of the running totals.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	defer tx.Rollback(ctx)
	var (
		verdict string
		counted bool
		mask    int32
	)
	err = tx.QueryRow(ctx, `SELECT last_verdict, pop_at IS NOT NULL, fail_mask FROM devices WHERE id = $1 FOR UPDATE`, id).Scan(&verdict, &counted, &mask)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("device %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	// A device that has checked in is counted in its latest failing
	// set's cohort count; it leaves it with its row.
	if counted {
		if _, err := tx.Exec(ctx, upMask, mask, -1); err != nil {
			return fmt.Errorf("postgres: delete device: %w", err)
		}
	}
	// Its live certificates are revoked before their rows go: the bits
	// live in the status lists, which stay.
	if err := revokeAllOfDevice(ctx, tx, id); err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT table_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'device_id' AND table_name <> 'checkins'`)
	if err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	for _, t := range tables {
		if _, err := tx.Exec(ctx, `DELETE FROM `+pgx.Identifier{t}.Sanitize()+` WHERE device_id = $1`, id); err != nil {
			return fmt.Errorf("postgres: delete device: %s: %w", t, err)
		}
	}
	tag, err := tx.Exec(ctx, `DELETE FROM checkins WHERE device_id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	n := tag.RowsAffected()
	if _, err := tx.Exec(ctx, `DELETE FROM devices WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO counters (name, shard, n)
		SELECT x.name, `+shardExpr+`, x.delta FROM (VALUES ('devices', -1::bigint), ('verdict:' || $1::text, -1), ('checkins', -$2::bigint)) AS x (name, delta)
		WHERE x.name <> 'verdict:'
		ON CONFLICT (name, shard) DO UPDATE SET n = counters.n + excluded.n`, verdict, n); err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: delete device: %w", err)
	}
	return nil
}

// ClearSourceIPs blanks source addresses of check-ins received before before.
func (s *Store) ClearSourceIPs(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE checkins SET source_ip = '' WHERE received_at < $1 AND source_ip <> ''`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: clear source addresses: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteCheckinsBefore deletes history received before before and takes
// it out of the check-in total.
func (s *Store) DeleteCheckinsBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `WITH del AS (DELETE FROM checkins WHERE received_at < $1 RETURNING 1),
		cnt AS (INSERT INTO counters (name, shard, n) SELECT 'checkins', `+shardExpr+`, -count(*) FROM del HAVING count(*) > 0
			ON CONFLICT (name, shard) DO UPDATE SET n = counters.n + excluded.n)
		SELECT count(*) FROM del`, before).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete check-ins: %w", err)
	}
	return n, nil
}

// AddRelyingParty registers rp.
func (s *Store) AddRelyingParty(ctx context.Context, rp store.RelyingParty) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO relying_parties (audience, webhook_url, secret, created_at) VALUES ($1, $2, $3, $4)`,
		rp.Audience, rp.WebhookURL, nonNil(rp.Secret), rp.CreatedAt)
	if err := conflictOr(err, "relying party "+rp.Audience); err != nil {
		return fmt.Errorf("postgres: add relying party: %w", err)
	}
	return nil
}

func (s *Store) relyingParties(ctx context.Context, q string, args ...any) ([]store.RelyingParty, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: relying parties: %w", err)
	}
	defer rows.Close()
	var out []store.RelyingParty
	for rows.Next() {
		var rp store.RelyingParty
		if err := rows.Scan(&rp.Audience, &rp.WebhookURL, &rp.Secret, &rp.CreatedAt); err != nil {
			return nil, fmt.Errorf("postgres: relying parties: %w", err)
		}
		rp.CreatedAt = rp.CreatedAt.UTC()
		out = append(out, rp)
	}
	return out, rows.Err()
}

// RelyingParties lists them by audience.
func (s *Store) RelyingParties(ctx context.Context) ([]store.RelyingParty, error) {
	return s.relyingParties(ctx, `SELECT audience, webhook_url, secret, created_at FROM relying_parties ORDER BY audience COLLATE "C"`)
}

// RemoveRelyingParty removes one.
func (s *Store) RemoveRelyingParty(ctx context.Context, audience string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM relying_parties WHERE audience = $1`, audience)
	return affected(tag, err, "relying party "+audience)
}

// RecordAudiences notes the device's audiences.
func (s *Store) RecordAudiences(ctx context.Context, deviceID string, audiences []string, at time.Time) error {
	if len(audiences) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO device_audiences (device_id, audience, first_seen)
		SELECT $1, a, $3 FROM unnest($2::text[]) AS a ON CONFLICT DO NOTHING`, deviceID, audiences, at); err != nil {
		return fmt.Errorf("postgres: record audiences: %w", err)
	}
	return nil
}

// RelyingPartiesOf returns the relying parties that have seen the device.
func (s *Store) RelyingPartiesOf(ctx context.Context, deviceID string) ([]store.RelyingParty, error) {
	return s.relyingParties(ctx, `SELECT r.audience, r.webhook_url, r.secret, r.created_at
		FROM relying_parties AS r JOIN device_audiences AS d ON d.audience = r.audience
		WHERE d.device_id = $1 ORDER BY r.audience COLLATE "C"`, deviceID)
}

// EnqueueEvents adds events, due at their CreatedAt.
func (s *Store) EnqueueEvents(ctx context.Context, evs []store.OutboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, e := range evs {
		b.Queue(`INSERT INTO webhook_outbox (event_id, audience, body, created_at, next_attempt) VALUES ($1, $2, $3, $4, $4)`,
			e.EventID, e.Audience, nonNil(e.Body), e.CreatedAt)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: enqueue events: %w", err)
	}
	defer tx.Rollback(ctx)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: enqueue events: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: enqueue events: %w", err)
	}
	return nil
}

const outboxCols = `id, event_id, audience, body, created_at, next_attempt, attempts, last_error, dead_at`

func scanEvents(rows pgx.Rows) ([]store.OutboxEvent, error) {
	defer rows.Close()
	var out []store.OutboxEvent
	for rows.Next() {
		var (
			e    store.OutboxEvent
			dead pgtype.Timestamptz
		)
		if err := rows.Scan(&e.ID, &e.EventID, &e.Audience, &e.Body, &e.CreatedAt, &e.NextAttempt, &e.Attempts, &e.LastError, &dead); err != nil {
			return nil, err
		}
		e.CreatedAt = e.CreatedAt.UTC()
		e.NextAttempt = e.NextAttempt.UTC()
		e.DeadAt = fromTS(dead)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ClaimEvents leases due events. FOR UPDATE SKIP LOCKED lets dispatchers
// on several nodes claim at once without waiting on or taking each
// other's rows; the lease keeps an event from being claimed again until
// its dispatcher has had time to deliver it.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxEvent, error) {
	rows, err := s.pool.Query(ctx, `UPDATE webhook_outbox SET next_attempt = $1
		WHERE id IN (SELECT id FROM webhook_outbox WHERE dead_at IS NULL AND next_attempt <= $2
			ORDER BY next_attempt, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxCols, now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim events: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim events: %w", err)
	}
	return evs, nil
}

// EventDelivered removes a delivered event.
func (s *Store) EventDelivered(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM webhook_outbox WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: event delivered: %w", err)
	}
	return nil
}

// EventFailed records a failed attempt.
func (s *Store) EventFailed(ctx context.Context, id int64, attempts int, next time.Time, lastErr string, dead bool, now time.Time) error {
	var deadAt pgtype.Timestamptz
	if dead {
		deadAt = ts(now)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_outbox SET attempts = $1, next_attempt = $2, last_error = $3, dead_at = $4 WHERE id = $5`,
		attempts, next, lastErr, deadAt, id)
	return affected(tag, err, fmt.Sprintf("event %d", id))
}

// DeadEvents lists given-up events, newest first.
func (s *Store) DeadEvents(ctx context.Context, limit int) ([]store.OutboxEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outboxCols+` FROM webhook_outbox WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: dead events: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: dead events: %w", err)
	}
	return evs, nil
}

// CreateEnrollmentToken adds t.
func (s *Store) CreateEnrollmentToken(ctx context.Context, t store.EnrollmentToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO enrollment_tokens (name, hash, created_at, expires_at, single_use) VALUES ($1, $2, $3, $4, $5)`,
		t.Name, nonNil(t.Hash), t.CreatedAt, ts(t.ExpiresAt), t.SingleUse)
	if err := conflictOr(err, "enrollment token "+t.Name); err != nil {
		return fmt.Errorf("postgres: create enrollment token: %w", err)
	}
	return nil
}

// EnrollmentTokens lists them by name.
func (s *Store) EnrollmentTokens(ctx context.Context) ([]store.EnrollmentToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, hash, created_at, expires_at, single_use, uses, revoked_at FROM enrollment_tokens ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: enrollment tokens: %w", err)
	}
	defer rows.Close()
	var out []store.EnrollmentToken
	for rows.Next() {
		var (
			t                store.EnrollmentToken
			expires, revoked pgtype.Timestamptz
		)
		if err := rows.Scan(&t.Name, &t.Hash, &t.CreatedAt, &expires, &t.SingleUse, &t.Uses, &revoked); err != nil {
			return nil, fmt.Errorf("postgres: enrollment tokens: %w", err)
		}
		t.CreatedAt = t.CreatedAt.UTC()
		t.ExpiresAt = fromTS(expires)
		t.RevokedAt = fromTS(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeEnrollmentToken revokes a working token.
func (s *Store) RevokeEnrollmentToken(ctx context.Context, name string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE enrollment_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL`, at, name)
	return affected(tag, err, "enrollment token "+name)
}

// UseEnrollmentToken counts one use of a working token; the row lock of
// the update lets exactly one of concurrent users of a single-use token
// through.
func (s *Store) UseEnrollmentToken(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, `UPDATE enrollment_tokens SET uses = uses + 1
		WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) AND (NOT single_use OR uses = 0)
		RETURNING name`, hash, now).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("enrollment token: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: use enrollment token: %w", err)
	}
	return name, nil
}

// revokeAllOfDevice sets the status bit of every certificate of the
// device not yet revoked, inside tx, locking the lists in id order as
// RevokeDevice does.
func revokeAllOfDevice(ctx context.Context, tx pgx.Tx, deviceID string) error {
	rows, err := tx.Query(ctx, `SELECT list_id, idx FROM issued_certificates WHERE device_id = $1 AND revoked_at IS NULL`, deviceID)
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
		if err := tx.QueryRow(ctx, `SELECT bits FROM status_lists WHERE id = $1 FOR UPDATE`, id).Scan(&bits); err != nil {
			return fmt.Errorf("status list %d: %w", id, err)
		}
		for _, i := range byList[id] {
			bits = store.SetStatusBit(bits, i)
		}
		if _, err := tx.Exec(ctx, `UPDATE status_lists SET bits = $1, updated_at = now() WHERE id = $2`, bits, id); err != nil {
			return err
		}
	}
	return nil
}
