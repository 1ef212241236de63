package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

var _ store.PopulationStats = (*Store)(nil)

// popStmts are the population statements RecordCheckin runs.
type popStmts struct {
	sel, upd, daily, total, mask *sql.Stmt
}

func (s *Store) preparePopulation(ctx context.Context) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.pop.sel, `SELECT pop_at, pop_verdict, pop_os, pop_os_version, pop_agent, pop_country, fail_mask FROM devices WHERE id = ?`},
		{&s.pop.upd, `UPDATE devices SET pop_at = ?, pop_verdict = ?, pop_os = ?, pop_os_version = ?, pop_agent = ?, pop_country = ?, fail_mask = ? WHERE id = ?`},
		{&s.pop.daily, `INSERT INTO pop_daily (kind, day, os, os_version, agent, country, key, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (kind, day, os, os_version, agent, country, key) DO UPDATE SET n = n + excluded.n`},
		{&s.pop.total, `INSERT INTO pop_daily_total (kind, day, key, n) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, day, key) DO UPDATE SET n = n + excluded.n`},
		{&s.pop.mask, `INSERT INTO pop_masks (mask, n) VALUES (?, ?) ON CONFLICT (mask) DO UPDATE SET n = n + excluded.n`},
	} {
		st, err := s.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// recordPopulation applies a check-in's step of the population
// aggregates (sqldb.PopStep from the device's state prev to next) inside
// the check-in's transaction; recordCheckin has stored next in the device
// row. Deltas that cancel out (a device counted again today in the same
// state) write nothing.
func (s *Store) recordPopulation(ctx context.Context, tx *sql.Tx, prev, next sqldb.PopState, deltas []sqldb.PopDelta) error {
	deltas = sqldb.NetDeltas(deltas)
	daily := tx.StmtContext(ctx, s.pop.daily)
	for _, d := range deltas {
		if _, err := daily.ExecContext(ctx, string(d.Kind), d.Day, d.Segment.OS, d.Segment.OSVersion, d.Segment.Agent, d.Segment.Country, d.Key, d.N); err != nil {
			return fmt.Errorf("sqlite: population: %w", err)
		}
	}
	// The whole-population cells: the deltas summed over segments (a
	// device counted again today in the same state changes nothing).
	total := tx.StmtContext(ctx, s.pop.total)
	for _, d := range sqldb.TotalDeltas(deltas) {
		if _, err := total.ExecContext(ctx, string(d.Kind), d.Day, d.Key, d.N); err != nil {
			return fmt.Errorf("sqlite: population: %w", err)
		}
	}
	if prev.At == 0 || prev.Mask != next.Mask {
		m := tx.StmtContext(ctx, s.pop.mask)
		if prev.At != 0 {
			if _, err := m.ExecContext(ctx, int64(prev.Mask), -1); err != nil {
				return fmt.Errorf("sqlite: population: %w", err)
			}
		}
		if _, err := m.ExecContext(ctx, int64(next.Mask), 1); err != nil {
			return fmt.Errorf("sqlite: population: %w", err)
		}
	}
	return nil
}

// Aggregate returns one table's cells, as store.PopulationStats describes.
func (s *Store) Aggregate(ctx context.Context, kind store.AggregateKind, dim store.Dimension, from, to time.Time) ([]store.AggregateCount, error) {
	if !dim.Valid() {
		return nil, fmt.Errorf("sqlite: aggregate: unknown dimension %q", dim)
	}
	cols := sqldb.DimColumns(dim)
	group := strings.Join(append(append([]string{"day"}, cols...), "key"), ", ")
	q := `SELECT ` + group + `, SUM(n) FROM pop_daily WHERE kind = ? AND day BETWEEN ? AND ?
		GROUP BY ` + group + ` HAVING SUM(n) > 0 ORDER BY ` + group
	if dim == store.DimNone {
		// The same cells, kept summed over segments.
		q = `SELECT day, key, n FROM pop_daily_total WHERE kind = ? AND day BETWEEN ? AND ? AND n > 0 ORDER BY day, key`
	}
	rows, err := s.r.QueryContext(ctx, q, string(kind), from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("sqlite: aggregate: %w", err)
	}
	defer rows.Close()
	var out []store.AggregateCount
	vals := make([]string, len(cols))
	dst := make([]any, 0, len(cols)+3)
	var day string
	var ac store.AggregateCount
	dst = append(dst, &day)
	for i := range vals {
		dst = append(dst, &vals[i])
	}
	dst = append(dst, &ac.Key, &ac.Count)
	for rows.Next() {
		ac = store.AggregateCount{}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("sqlite: aggregate: %w", err)
		}
		if ac.Day, err = time.Parse(time.DateOnly, day); err != nil {
			return nil, fmt.Errorf("sqlite: aggregate: bad day %q: %w", day, err)
		}
		sqldb.SetDim(dim, &ac.Segment, vals)
		out = append(out, ac)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: aggregate: %w", err)
	}
	return out, nil
}

// FailMasks counts devices by latest failing set.
func (s *Store) FailMasks(ctx context.Context) (map[store.FailMask]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT mask, n FROM pop_masks WHERE n > 0`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: fail masks: %w", err)
	}
	defer rows.Close()
	out := map[store.FailMask]int64{}
	for rows.Next() {
		var m, n int64
		if err := rows.Scan(&m, &n); err != nil {
			return nil, fmt.Errorf("sqlite: fail masks: %w", err)
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
	rows, err := s.r.QueryContext(ctx, `SELECT id, os, last_seen, last_verdict, fail_mask, pop_os, pop_os_version, pop_agent, pop_country
		FROM devices WHERE fail_mask = ? AND pop_at IS NOT NULL AND id > ? ORDER BY fail_mask, id LIMIT ?`, int64(m), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: cohort: %w", err)
	}
	defer rows.Close()
	var out []store.CohortDevice
	for rows.Next() {
		var (
			d       store.CohortDevice
			seen    sql.NullInt64
			verdict string
			mask    int64
		)
		if err := rows.Scan(&d.ID, &d.OS, &seen, &verdict, &mask, &d.Segment.OS, &d.Segment.OSVersion, &d.Segment.Agent, &d.Segment.Country); err != nil {
			return nil, fmt.Errorf("sqlite: cohort: %w", err)
		}
		d.LastSeen, d.LastVerdict, d.Failing = fromMicros(seen), health.Tier(verdict), store.FailMask(mask)
		out = append(out, d)
	}
	return out, rows.Err()
}

// SaveAlert stores a once per key.
func (s *Store) SaveAlert(ctx context.Context, a store.Alert) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO pop_alerts (key, day, detector, family, segment, created_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		a.Key, a.Day.UTC().Format(time.DateOnly), a.Detector, a.Family, a.Segment, a.CreatedAt.UnixMicro(), string(a.Body))
	if err != nil {
		return false, fmt.Errorf("sqlite: save alert: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Alerts lists alerts by day, newest first.
func (s *Store) Alerts(ctx context.Context, from, to time.Time) ([]store.Alert, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, day, detector, family, segment, created_at, body FROM pop_alerts
		WHERE day BETWEEN ? AND ? ORDER BY day DESC, key`, from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("sqlite: alerts: %w", err)
	}
	defer rows.Close()
	var out []store.Alert
	for rows.Next() {
		var (
			a       store.Alert
			day     string
			created int64
			body    string
		)
		if err := rows.Scan(&a.Key, &day, &a.Detector, &a.Family, &a.Segment, &created, &body); err != nil {
			return nil, fmt.Errorf("sqlite: alerts: %w", err)
		}
		a.Day, _ = time.Parse(time.DateOnly, day)
		a.CreatedAt = time.UnixMicro(created).UTC()
		a.Body = []byte(body)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AddPartner stores a partner's token hash.
func (s *Store) AddPartner(ctx context.Context, name string, tokenHash []byte, at time.Time) error {
	if name == "" || len(tokenHash) == 0 {
		return errors.New("sqlite: add partner: empty name or hash")
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO partners (token_hash, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		tokenHash, name, at.UnixMicro())
	if err != nil {
		return fmt.Errorf("sqlite: add partner: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("partner %s: %w", name, store.ErrConflict)
	}
	return nil
}

// PartnerByTokenHash finds the partner holding a token.
func (s *Store) PartnerByTokenHash(ctx context.Context, tokenHash []byte) (string, error) {
	var name string
	err := s.r.QueryRowContext(ctx, `SELECT name FROM partners WHERE token_hash = ?`, tokenHash).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("partner: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: partner: %w", err)
	}
	return name, nil
}

// Partners lists the partners by name.
func (s *Store) Partners(ctx context.Context) ([]store.Partner, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, created_at FROM partners ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: partners: %w", err)
	}
	defer rows.Close()
	var out []store.Partner
	for rows.Next() {
		var (
			p  store.Partner
			at int64
		)
		if err := rows.Scan(&p.Name, &at); err != nil {
			return nil, fmt.Errorf("sqlite: partners: %w", err)
		}
		p.CreatedAt = time.UnixMicro(at).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// RemovePartner deletes a partner and so its token.
func (s *Store) RemovePartner(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM partners WHERE name = ?`, name)
	return affected(res, err, "partner "+name)
}
