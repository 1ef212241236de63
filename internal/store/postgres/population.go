package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

var _ store.PopulationStats = (*Store)(nil)

// popSelect reads, and locks for the check-in's transaction, the device
// state the population aggregates hold, the device's enrolled OS and the
// latest nonce it used.
const popSelect = `SELECT pop_at, pop_verdict, pop_os, pop_os_version, pop_agent, pop_country, fail_mask, os, pop_infected_day,
	nonce_at, nonce_random, last_verdict
	FROM devices WHERE id = $1 FOR UPDATE`

// devRow is popSelect's row.
type devRow struct {
	pop         sqldb.PopState
	os          string
	nonceAt     int64
	nonceRandom []byte
	lastVerdict health.Tier
}

// scanPop reads popSelect's row.
func scanPop(row pgx.Row, deviceID string) (devRow, error) {
	var (
		d       devRow
		at      pgtype.Timestamptz
		verdict string
		mask    int32
	)
	err := row.Scan(&at, &verdict,
		&d.pop.Segment.OS, &d.pop.Segment.OSVersion, &d.pop.Segment.Agent, &d.pop.Segment.Country, &mask, &d.os, &d.pop.InfectedDay,
		&d.nonceAt, &d.nonceRandom, (*string)(&d.lastVerdict))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("device %s: %w", deviceID, store.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("postgres: population: %w", err)
	}
	if at.Valid {
		d.pop.At = at.Time.UnixMicro()
	}
	d.pop.Verdict, d.pop.Mask = health.Tier(verdict), store.FailMask(mask)
	return d, nil
}

// upMask adds $2 to the count of failing set $1.
const upMask = `INSERT INTO pop_masks (mask, shard, n) VALUES ($1, ` + shardExpr + `, $2)
	ON CONFLICT (mask, shard) DO UPDATE SET n = pop_masks.n + excluded.n`

// queuePopulation queues the check-in's changes to the aggregates in b
// (next and deltas from sqldb.PopStep; the device row's population state
// is written with the rest of the row) and says how many statements it
// queued. Deltas that cancel out (a device counted again today in the
// same state) write nothing.
func queuePopulation(b *pgx.Batch, prev, next sqldb.PopState, deltas []sqldb.PopDelta) int {
	n := b.Len()
	deltas = sqldb.NetDeltas(deltas)
	for _, d := range deltas {
		b.Queue(`INSERT INTO pop_daily (kind, day, os, os_version, agent, country, key, shard, n)
			VALUES ($1, $2::text::date, $3, $4, $5, $6, $7, `+shardExpr+`, $8)
			ON CONFLICT (kind, day, os, os_version, agent, country, key, shard) DO UPDATE SET n = pop_daily.n + excluded.n`,
			string(d.Kind), d.Day, d.Segment.OS, d.Segment.OSVersion, d.Segment.Agent, d.Segment.Country, d.Key, d.N)
	}
	// The whole-population cells: the same deltas summed over segments.
	for _, d := range sqldb.TotalDeltas(deltas) {
		b.Queue(`INSERT INTO pop_daily_total (kind, day, key, shard, n) VALUES ($1, $2::text::date, $3, `+shardExpr+`, $4)
			ON CONFLICT (kind, day, key, shard) DO UPDATE SET n = pop_daily_total.n + excluded.n`,
			string(d.Kind), d.Day, d.Key, d.N)
	}
	if prev.At == 0 || prev.Mask != next.Mask {
		if prev.At != 0 {
			b.Queue(upMask, int32(prev.Mask), -1)
		}
		b.Queue(upMask, int32(next.Mask), 1)
	}
	return b.Len() - n
}

// Aggregate returns one table's cells, as store.PopulationStats describes.
func (s *Store) Aggregate(ctx context.Context, kind store.AggregateKind, dim store.Dimension, from, to time.Time) ([]store.AggregateCount, error) {
	if !dim.Valid() {
		return nil, fmt.Errorf("postgres: aggregate: unknown dimension %q", dim)
	}
	cols := sqldb.DimColumns(dim)
	group := strings.Join(append(append([]string{"day"}, cols...), "key"), ", ")
	table := "pop_daily"
	if dim == store.DimNone {
		// The same cells, kept summed over segments (their shards are
		// summed here).
		table = "pop_daily_total"
	}
	q := `SELECT day::text, ` + strings.Join(append(cols, "key"), ", ") + `, sum(n)::bigint FROM ` + table + `
		WHERE kind = $1 AND day BETWEEN $2::text::date AND $3::text::date
		GROUP BY ` + group + ` HAVING sum(n) > 0 ORDER BY ` + group
	rows, err := s.pool.Query(ctx, q, string(kind), from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("postgres: aggregate: %w", err)
	}
	defer rows.Close()
	var out []store.AggregateCount
	vals := make([]string, len(cols))
	var (
		day string
		ac  store.AggregateCount
	)
	dst := []any{&day}
	for i := range vals {
		dst = append(dst, &vals[i])
	}
	dst = append(dst, &ac.Key, &ac.Count)
	for rows.Next() {
		ac = store.AggregateCount{}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("postgres: aggregate: %w", err)
		}
		if ac.Day, err = time.Parse(time.DateOnly, day); err != nil {
			return nil, fmt.Errorf("postgres: aggregate: bad day %q: %w", day, err)
		}
		sqldb.SetDim(dim, &ac.Segment, vals)
		out = append(out, ac)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: aggregate: %w", err)
	}
	return out, nil
}

// FailMasks counts devices by latest failing set.
func (s *Store) FailMasks(ctx context.Context) (map[store.FailMask]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT mask, sum(n)::bigint FROM pop_masks GROUP BY mask HAVING sum(n) > 0`)
	if err != nil {
		return nil, fmt.Errorf("postgres: fail masks: %w", err)
	}
	defer rows.Close()
	out := map[store.FailMask]int64{}
	for rows.Next() {
		var (
			m int32
			n int64
		)
		if err := rows.Scan(&m, &n); err != nil {
			return nil, fmt.Errorf("postgres: fail masks: %w", err)
		}
		out[store.FailMask(m)] = n
	}
	return out, rows.Err()
}

// DevicesWithFailMask lists the devices whose latest failing set is m.
func (s *Store) DevicesWithFailMask(ctx context.Context, m store.FailMask, afterID string, limit int) ([]store.CohortDevice, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, os, last_seen, last_verdict, fail_mask, pop_os, pop_os_version, pop_agent, pop_country
		FROM devices WHERE fail_mask = $1 AND pop_at IS NOT NULL AND id > $2 ORDER BY fail_mask, id LIMIT $3`, int32(m), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: cohort: %w", err)
	}
	defer rows.Close()
	var out []store.CohortDevice
	for rows.Next() {
		var (
			d       store.CohortDevice
			seen    pgtype.Timestamptz
			verdict string
			mask    int32
		)
		if err := rows.Scan(&d.ID, &d.OS, &seen, &verdict, &mask, &d.Segment.OS, &d.Segment.OSVersion, &d.Segment.Agent, &d.Segment.Country); err != nil {
			return nil, fmt.Errorf("postgres: cohort: %w", err)
		}
		if seen.Valid {
			d.LastSeen = seen.Time.UTC()
		}
		d.LastVerdict, d.Failing = health.Tier(verdict), store.FailMask(mask)
		out = append(out, d)
	}
	return out, rows.Err()
}

// SaveAlert stores a once per key.
func (s *Store) SaveAlert(ctx context.Context, a store.Alert) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO pop_alerts (key, day, detector, family, segment, created_at, body)
		VALUES ($1, $2::text::date, $3, $4, $5, $6, $7::text::jsonb) ON CONFLICT (key) DO NOTHING`,
		a.Key, a.Day.UTC().Format(time.DateOnly), a.Detector, a.Family, a.Segment, a.CreatedAt, string(a.Body))
	if err != nil {
		return false, fmt.Errorf("postgres: save alert: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Alerts lists alerts by day, newest first.
func (s *Store) Alerts(ctx context.Context, from, to time.Time) ([]store.Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, day::text, detector, family, segment, created_at, body::text FROM pop_alerts
		WHERE day BETWEEN $1::text::date AND $2::text::date ORDER BY day DESC, key`,
		from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("postgres: alerts: %w", err)
	}
	defer rows.Close()
	var out []store.Alert
	for rows.Next() {
		var (
			a    store.Alert
			day  string
			body string
		)
		if err := rows.Scan(&a.Key, &day, &a.Detector, &a.Family, &a.Segment, &a.CreatedAt, &body); err != nil {
			return nil, fmt.Errorf("postgres: alerts: %w", err)
		}
		a.Day, _ = time.Parse(time.DateOnly, day)
		a.CreatedAt = a.CreatedAt.UTC()
		a.Body = []byte(body)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AddPartner stores a partner's token hash.
func (s *Store) AddPartner(ctx context.Context, name string, tokenHash []byte, at time.Time) error {
	if name == "" || len(tokenHash) == 0 {
		return errors.New("postgres: add partner: empty name or hash")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO partners (token_hash, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		tokenHash, name, at)
	if err != nil {
		return fmt.Errorf("postgres: add partner: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("partner %s: %w", name, store.ErrConflict)
	}
	return nil
}

// PartnerByTokenHash finds the partner holding a token.
func (s *Store) PartnerByTokenHash(ctx context.Context, tokenHash []byte) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, `SELECT name FROM partners WHERE token_hash = $1`, tokenHash).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("partner: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: partner: %w", err)
	}
	return name, nil
}

// Partners lists the partners by name.
func (s *Store) Partners(ctx context.Context) ([]store.Partner, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, created_at FROM partners ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: partners: %w", err)
	}
	defer rows.Close()
	var out []store.Partner
	for rows.Next() {
		var p store.Partner
		if err := rows.Scan(&p.Name, &p.CreatedAt); err != nil {
			return nil, fmt.Errorf("postgres: partners: %w", err)
		}
		p.CreatedAt = p.CreatedAt.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// RemovePartner deletes a partner and so its token.
func (s *Store) RemovePartner(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM partners WHERE name = $1`, name)
	return affected(tag, err, "partner "+name)
}
