package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

var _ store.UsedNonces = (*Store)(nil)

const useNonce = `INSERT INTO used_nonces (key, expires_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`

// UseNonce records a used challenge nonce, as store.UsedNonces describes.
// Two nodes using one nonce at once race on one primary key: the second
// insert waits for the first transaction and then inserts nothing.
func (s *Store) UseNonce(ctx context.Context, key []byte, expires time.Time) error {
	if len(key) == 0 {
		return errors.New("postgres: use nonce: empty key")
	}
	tag, err := s.pool.Exec(ctx, useNonce, key, expires)
	if err != nil {
		return fmt.Errorf("postgres: use nonce: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("nonce: %w", store.ErrNonceUnknown)
	}
	return nil
}

// DeviceNonceUsed reports whether the device has used n or a later
// nonce.
func (s *Store) DeviceNonceUsed(ctx context.Context, deviceID string, n store.DeviceNonce) (bool, error) {
	var (
		at     int64
		random []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT nonce_at, nonce_random FROM devices WHERE id = $1`, deviceID).Scan(&at, &random)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("postgres: device nonce used: %w", err)
	}
	return !n.After(at, random), nil
}

// NonceUsed reports whether key was used.
func (s *Store) NonceUsed(ctx context.Context, key []byte) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM used_nonces WHERE key = $1`, key).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("postgres: nonce used: %w", err)
	}
	return true, nil
}

// recordCheckin is RecordCheckin in two round trips on one connection:
// the first begins the transaction, uses the nonce and locks and reads
// the device row (the aggregates' step depends on it); the second sends
// every write of the check-in and the commit.
func (s *Store) recordCheckin(ctx context.Context, c store.Checkin, findings string) (id int64, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: record check-in: %w", err)
	}
	open := false // a transaction may be open on conn
	defer func() {
		if open && err != nil {
			if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				conn.Conn().Close(context.WithoutCancel(ctx)) // the pool drops it
			}
		}
		conn.Release()
	}()

	open = true
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if len(c.NonceKey) > 0 {
		b.Queue(useNonce, c.NonceKey, c.NonceExpires)
	}
	b.Queue(popSelect, c.DeviceID)
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return 0, fmt.Errorf("postgres: record check-in: begin: %w", err)
	}
	if len(c.NonceKey) > 0 {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, fmt.Errorf("postgres: record check-in: use nonce: %w", err)
		}
		if tag.RowsAffected() == 0 {
			br.Close()
			return 0, fmt.Errorf("nonce: %w", store.ErrNonceUnknown)
		}
	}
	dev, err := scanPop(br.QueryRow(), c.DeviceID)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("postgres: record check-in: %w", cerr)
	}
	if err != nil {
		return 0, err
	}
	nonceAt, nonceRandom := dev.nonceAt, dev.nonceRandom
	if n := c.DeviceNonce; n != nil {
		if !n.After(nonceAt, nonceRandom) {
			return 0, fmt.Errorf("nonce: %w", store.ErrNonceUnknown)
		}
		nonceAt, nonceRandom = n.IssuedAt, n.Random
	}

	// The device row is written once: its latest state and nonce, and
	// the population state (unchanged when the check-in takes no step).
	next, deltas, popOK := sqldb.PopStep(dev.pop, c, dev.os)
	if !popOK {
		next, deltas = dev.pop, nil
	}
	var popAt *time.Time
	if next.At != 0 {
		t := time.UnixMicro(next.At).UTC()
		popAt = &t
	}
	b = &pgx.Batch{}
	b.Queue(updateDeviceSQL, c.DeviceID, c.ReceivedAt, string(c.Verdict), c.PolicyID, nonceAt, nonNil(nonceRandom),
		popAt, string(next.Verdict), next.Segment.OS, next.Segment.OSVersion, next.Segment.Agent, next.Segment.Country, int32(next.Mask), next.InfectedDay)
	b.Queue(insertCheckinSQL, c.DeviceID, c.ReceivedAt, string(c.Verdict), c.PolicyID, findings,
		c.OS, c.OSVersion, c.Agent, nonNil(c.Statement), c.SourceIP)
	segOS := c.OS
	if segOS == "" {
		segOS = dev.os
	}
	b.Queue(dailySQL, c.ReceivedAt, string(c.Verdict), segOS)
	b.Queue(countersSQL, sqldb.CheckinsCounter, 1)
	ncount := 1
	if dev.lastVerdict != c.Verdict {
		b.Queue(countersSQL, sqldb.VerdictCounter(c.Verdict), 1)
		ncount++
		if dev.lastVerdict != "" {
			b.Queue(countersSQL, sqldb.VerdictCounter(dev.lastVerdict), -1)
			ncount++
		}
	}
	npop := 0
	if popOK {
		npop = queuePopulation(b, dev.pop, next, deltas)
	}
	ncert := queueCertificates(b, c.Certificates)
	nev := queueCheckinEvents(b, c, dev.lastVerdict)
	b.Queue("COMMIT")
	br = conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("postgres: record check-in: %w", cerr)
		}
	}()
	if tag, err := br.Exec(); err != nil {
		return 0, fmt.Errorf("postgres: record check-in: %w", err)
	} else if tag.RowsAffected() != 1 {
		return 0, fmt.Errorf("device %s: %w", c.DeviceID, store.ErrNotFound)
	}
	if err := br.QueryRow().Scan(&id); err != nil {
		return 0, fmt.Errorf("postgres: record check-in: %w", err)
	}
	for range 1 + ncount {
		if _, err := br.Exec(); err != nil {
			return 0, fmt.Errorf("postgres: record check-in: %w", err)
		}
	}
	for range npop {
		if _, err := br.Exec(); err != nil {
			return 0, fmt.Errorf("postgres: population: %w", err)
		}
	}
	for range ncert {
		if _, err := br.Exec(); err != nil {
			return 0, certError(err)
		}
	}
	for range nev {
		if _, err := br.Exec(); err != nil {
			return 0, fmt.Errorf("postgres: record check-in: %w", err)
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return 0, fmt.Errorf("postgres: record check-in: commit: %w", err)
	}
	if tag.String() != "COMMIT" {
		return 0, fmt.Errorf("postgres: record check-in: the transaction did not commit (%s)", tag)
	}
	open = false
	return id, nil
}

// queueCertificates queues the insert of certificates in b and says how
// many statements it queued.
func queueCertificates(b *pgx.Batch, certs []store.IssuedCertificate) int {
	if len(certs) == 0 {
		return 0
	}
	n := len(certs)
	jti, dev, aud := make([]string, n), make([]string, n), make([]string, n)
	list, idx := make([]int64, n), make([]int64, n)
	iat, exp := make([]time.Time, n), make([]time.Time, n)
	for i, c := range certs {
		jti[i], dev[i], aud[i], list[i], idx[i], iat[i], exp[i] = c.JTI, c.DeviceID, c.Audience, c.ListID, c.Index, c.IssuedAt, c.ExpiresAt
	}
	b.Queue(`INSERT INTO issued_certificates (jti, device_id, audience, list_id, idx, issued_at, expires_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::timestamptz[], $7::timestamptz[])`,
		jti, dev, aud, list, idx, iat, exp)
	return 1
}

// certError maps an error recording certificates to the store's errors.
func certError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503": // foreign_key_violation
			return fmt.Errorf("device of certificate: %w", store.ErrNotFound)
		case "23505": // unique_violation
			return fmt.Errorf("certificate: %w", store.ErrConflict)
		}
	}
	return fmt.Errorf("postgres: record certificates: %w", err)
}
