package sqldb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// ErrNoRows is what Row.Scan returns when a query found nothing; adapters
// translate their driver's own error to it.
var ErrNoRows = errors.New("no rows")

// Row is one result row.
type Row interface{ Scan(dest ...any) error }

// Rows is a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Querier runs SQL written with $1, $2, … placeholders; each store's
// adapter rewrites them for its database.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	QueryRow(ctx context.Context, sql string, args ...any) Row
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	// Time is t as the checkins table's received_at column holds it.
	Time(t time.Time) any
}

// Tx is a Querier inside a transaction.
type Tx interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Beginner starts write transactions; lockVersion says the transaction
// must hold the indicator version row for update.
type Beginner interface {
	Begin(ctx context.Context) (Tx, error)
}

// IntelStore implements store.Intel and store.Sightings over SQL (the
// tables of migration 0004, identical in both databases).
type IntelStore struct {
	DB Beginner
	// R reads; it may be the writer.
	R Querier
	// ForUpdate is appended to the SELECT that reads the version inside
	// an import (" FOR UPDATE" in PostgreSQL, empty in SQLite, where
	// writers are serialised).
	ForUpdate string
	// Name prefixes error messages ("sqlite", "postgres").
	Name string
}

func us(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromUS(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.UnixMicro(*n).UTC()
}

func (s *IntelStore) errf(what string, err error) error {
	return fmt.Errorf("%s: %s: %w", s.Name, what, err)
}

func (s *IntelStore) withTx(ctx context.Context, fn func(tx Tx) error) error {
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback(ctx)
		return err
	}
	return tx.Commit(ctx)
}

func readVersion(ctx context.Context, q Querier, name, forUpdate string) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT n FROM intel_meta WHERE name = $1`+forUpdate, name).Scan(&n)
	if errors.Is(err, ErrNoRows) {
		return 0, nil
	}
	return n, err
}

func setMeta(ctx context.Context, q Querier, name string, n int64) error {
	_, err := q.Exec(ctx, `INSERT INTO intel_meta (name, n) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET n = excluded.n`, name, n)
	return err
}

func joinSources(l []string) string { return strings.Join(l, "\n") }

func splitSources(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func mergeSources(old []string, add ...string) []string {
	out := slices.Clone(old)
	for _, a := range add {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

func firstSource(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// ImportIndicators implements store.Intel.
func (s *IntelStore) ImportIndicators(ctx context.Context, now time.Time, feed func(add func(store.Indicator) error) error) (store.IndicatorImport, error) {
	var res store.IndicatorImport
	err := s.withTx(ctx, func(tx Tx) error {
		cur, err := readVersion(ctx, tx, "version", s.ForUpdate)
		if err != nil {
			return s.errf("import indicators", err)
		}
		next := cur + 1
		changed := false // the live set differs from version cur
		add := func(in store.Indicator) error {
			if in.Type == "" || in.Value == "" || in.Port < 0 || in.Port > 65535 {
				return fmt.Errorf("%s: invalid indicator %q %q", s.Name, in.Type, in.Value)
			}
			var (
				sources, family             string
				conf                        int
				first, last, removed, until *int64
			)
			err := tx.QueryRow(ctx, `SELECT sources, family, confidence, first_seen, last_seen, removed_version, valid_until FROM indicators
				WHERE type = $1 AND value = $2 AND port = $3`, in.Type, in.Value, in.Port).Scan(&sources, &family, &conf, &first, &last, &removed, &until)
			found := err == nil
			if err != nil && !errors.Is(err, ErrNoRows) {
				return s.errf("read indicator", err)
			}
			if in.Withdrawn {
				if !found || removed != nil {
					return nil
				}
				w, err := s.withdraw(ctx, tx, in, splitSources(sources), next, now)
				if err != nil {
					return err
				}
				if w != 0 {
					res.Withdrawn++
					changed = true
				}
				if w < 0 {
					res.Removed++
				}
				return nil
			}
			if !found {
				src := mergeSources(nil, in.Sources...)
				if _, err := tx.Exec(ctx, `INSERT INTO indicators (type, value, port, sources, family, confidence, first_seen, last_seen, refreshed_at, added_version, valid_until)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
					in.Type, in.Value, in.Port, joinSources(src), in.Family, in.Confidence, us(in.FirstSeen), us(in.LastSeen), now.UnixMicro(), next, us(in.ValidUntil)); err != nil {
					return s.errf("store indicator", err)
				}
				res.Added++
				res.Stored++
				changed = true
				return nil
			}
			oldSrc := splitSources(sources)
			src := mergeSources(oldSrc, in.Sources...)
			fam := family
			if fam == "" {
				fam = in.Family
			}
			f, l := fromUS(first), fromUS(last)
			if !in.FirstSeen.IsZero() && (f.IsZero() || in.FirstSeen.Before(f)) {
				f = in.FirstSeen
			}
			if in.LastSeen.After(l) {
				l = in.LastSeen
			}
			// The end of validity: the listing's own when it comes back or
			// only its feeds list it; else the latest, none being latest.
			vu := in.ValidUntil
			if removed == nil && !slices.Equal(src, mergeSources(nil, in.Sources...)) {
				if until == nil || vu.IsZero() {
					vu = time.Time{}
				} else if old := fromUS(until); old.After(vu) {
					vu = old
				}
			}
			back := removed != nil || fam != family || firstSource(src) != firstSource(oldSrc)
			q := `UPDATE indicators SET sources = $4, family = $5, confidence = $6, first_seen = $7, last_seen = $8, refreshed_at = $9, valid_until = $10
				WHERE type = $1 AND value = $2 AND port = $3`
			args := []any{in.Type, in.Value, in.Port, joinSources(src), fam, max(conf, in.Confidence), us(f), us(l), now.UnixMicro(), us(vu)}
			if back {
				q = `UPDATE indicators SET sources = $4, family = $5, confidence = $6, first_seen = $7, last_seen = $8, refreshed_at = $9, valid_until = $10,
					added_version = $11, removed_version = NULL, removed_at = NULL
					WHERE type = $1 AND value = $2 AND port = $3`
				args = append(args, next)
				res.Added++
				changed = true
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return s.errf("update indicator", err)
			}
			res.Stored++
			return nil
		}
		if err := feed(add); err != nil {
			return err
		}
		res.Version = cur
		if changed {
			res.Version = next
			if err := setMeta(ctx, tx, "version", next); err != nil {
				return s.errf("import indicators", err)
			}
		}
		return nil
	})
	if err != nil {
		return store.IndicatorImport{}, err
	}
	return res, nil
}

// withdraw takes in.Sources from a live indicator listed by old: 0 when
// none of them listed it, 1 when other sources still do, -1 when it left
// the live set.
func (s *IntelStore) withdraw(ctx context.Context, tx Tx, in store.Indicator, old []string, next int64, now time.Time) (int, error) {
	left := slices.DeleteFunc(slices.Clone(old), func(src string) bool { return slices.Contains(in.Sources, src) })
	switch {
	case len(left) == len(old):
		return 0, nil
	case len(left) == 0:
		if _, err := tx.Exec(ctx, `UPDATE indicators SET removed_version = $4, removed_at = $5 WHERE type = $1 AND value = $2 AND port = $3`,
			in.Type, in.Value, in.Port, next, now.UnixMicro()); err != nil {
			return 0, s.errf("withdraw indicator", err)
		}
		return -1, nil
	}
	// The bundle names an indicator's first source: a change is a new
	// version of the indicator.
	if _, err := tx.Exec(ctx, `UPDATE indicators SET sources = $4, added_version = $5 WHERE type = $1 AND value = $2 AND port = $3`,
		in.Type, in.Value, in.Port, joinSources(left), next); err != nil {
		return 0, s.errf("withdraw indicator", err)
	}
	return 1, nil
}

// ExpireIndicators implements store.Intel.
func (s *IntelStore) ExpireIndicators(ctx context.Context, now, staleBefore, forgetBefore time.Time) (int, int64, error) {
	var removed int
	var version int64
	err := s.withTx(ctx, func(tx Tx) error {
		cur, err := readVersion(ctx, tx, "version", s.ForUpdate)
		if err != nil {
			return s.errf("expire indicators", err)
		}
		version = cur
		n, err := tx.Exec(ctx, `UPDATE indicators SET removed_version = $1, removed_at = $2
			WHERE removed_version IS NULL AND (refreshed_at < $3 OR valid_until <= $2)`, cur+1, now.UnixMicro(), staleBefore.UnixMicro())
		if err != nil {
			return s.errf("expire indicators", err)
		}
		removed = int(n)
		if n > 0 {
			version = cur + 1
			if err := setMeta(ctx, tx, "version", version); err != nil {
				return s.errf("expire indicators", err)
			}
		}
		// Forget old removals; deltas must then start after the newest
		// forgotten one.
		var floor *int64
		if err := tx.QueryRow(ctx, `SELECT MAX(removed_version) FROM indicators WHERE removed_at < $1`, forgetBefore.UnixMicro()).Scan(&floor); err != nil {
			return s.errf("expire indicators", err)
		}
		if floor != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM indicators WHERE removed_at < $1`, forgetBefore.UnixMicro()); err != nil {
				return s.errf("expire indicators", err)
			}
			old, err := readVersion(ctx, tx, "floor", "")
			if err != nil {
				return s.errf("expire indicators", err)
			}
			if *floor > old {
				if err := setMeta(ctx, tx, "floor", *floor); err != nil {
					return s.errf("expire indicators", err)
				}
			}
		}
		return nil
	})
	return removed, version, err
}

// IndicatorsVersion implements store.Intel.
func (s *IntelStore) IndicatorsVersion(ctx context.Context) (int64, error) {
	v, err := readVersion(ctx, s.R, "version", "")
	if err != nil {
		return 0, s.errf("indicators version", err)
	}
	return v, nil
}

// IndicatorFamily implements store.IndicatorFamilies.
func (s *IntelStore) IndicatorFamily(ctx context.Context, typ, value string, port int) (string, error) {
	var fam string
	err := s.R.QueryRow(ctx, `SELECT family FROM indicators WHERE type = $1 AND value = $2 AND port = $3`, typ, value, port).Scan(&fam)
	if errors.Is(err, ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", s.errf("indicator family", err)
	}
	return fam, nil
}

const indicatorCols = `type, value, port, sources, family, confidence, first_seen, last_seen, refreshed_at, added_version, valid_until`

func scanIndicator(r Row) (store.Indicator, error) {
	var (
		in                 store.Indicator
		sources            string
		first, last, until *int64
		refreshed          int64
	)
	if err := r.Scan(&in.Type, &in.Value, &in.Port, &sources, &in.Family, &in.Confidence, &first, &last, &refreshed, &in.Version, &until); err != nil {
		return in, err
	}
	in.Sources = splitSources(sources)
	in.FirstSeen, in.LastSeen, in.RefreshedAt, in.ValidUntil = fromUS(first), fromUS(last), time.UnixMicro(refreshed).UTC(), fromUS(until)
	return in, nil
}

func typeFilter(types []string, args []any) (string, []any) {
	if len(types) == 0 {
		return "", args
	}
	var b strings.Builder
	b.WriteString(" AND type IN (")
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, t)
		fmt.Fprintf(&b, "$%d", len(args))
	}
	b.WriteString(")")
	return b.String(), args
}

func (s *IntelStore) collect(ctx context.Context, q Querier, sql string, args []any, fn func(store.Indicator) error) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		in, err := scanIndicator(rows)
		if err != nil {
			return err
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LiveIndicators implements store.Intel. It reads in one transaction, so
// the version matches the indicators.
func (s *IntelStore) LiveIndicators(ctx context.Context, types []string, fn func(store.Indicator) error) (int64, error) {
	var v int64
	err := s.withTx(ctx, func(tx Tx) error {
		var err error
		if v, err = readVersion(ctx, tx, "version", ""); err != nil {
			return err
		}
		filter, args := typeFilter(types, nil)
		return s.collect(ctx, tx, `SELECT `+indicatorCols+` FROM indicators WHERE removed_version IS NULL`+filter+` ORDER BY type, value, port`, args, fn)
	})
	if err != nil {
		return 0, s.errf("live indicators", err)
	}
	return v, nil
}

// IndicatorChanges implements store.Intel.
func (s *IntelStore) IndicatorChanges(ctx context.Context, from int64, types []string) (store.IndicatorDelta, error) {
	d := store.IndicatorDelta{From: from}
	err := s.withTx(ctx, func(tx Tx) error {
		var err error
		if d.To, err = readVersion(ctx, tx, "version", ""); err != nil {
			return err
		}
		floor, err := readVersion(ctx, tx, "floor", "")
		if err != nil {
			return err
		}
		if from < floor || from > d.To || from < 0 {
			return store.ErrDeltaTooOld
		}
		filter, args := typeFilter(types, []any{from})
		if err := s.collect(ctx, tx, `SELECT `+indicatorCols+` FROM indicators WHERE removed_version IS NULL AND added_version > $1`+filter+` ORDER BY type, value, port`, args,
			func(in store.Indicator) error { d.Added = append(d.Added, in); return nil }); err != nil {
			return err
		}
		// Every indicator removed since from: also one whose version
		// changed after from (its family or first source), which a device
		// at from holds in its earlier form. Removing one the device never
		// held changes nothing there.
		return s.collect(ctx, tx, `SELECT `+indicatorCols+` FROM indicators WHERE removed_version > $1`+filter+` ORDER BY type, value, port`, args,
			func(in store.Indicator) error { d.Removed = append(d.Removed, in); return nil })
	})
	if errors.Is(err, store.ErrDeltaTooOld) {
		return d, err
	}
	if err != nil {
		return d, s.errf("indicator changes", err)
	}
	return d, nil
}

// ImportSightings implements store.Sightings. Imports take turns on a
// row of intel_meta, so two importing the same report at once still
// store it once.
func (s *IntelStore) ImportSightings(ctx context.Context, now time.Time, window time.Duration, feed func(add func(store.Sighting) error) error) (store.SightingImport, error) {
	var res store.SightingImport
	devices := map[string]bool{}
	err := s.withTx(ctx, func(tx Tx) error {
		if err := s.lockSightings(ctx, tx); err != nil {
			return s.errf("import sightings", err)
		}
		var families map[string]bool
		return feed(func(sg store.Sighting) error {
			a, err := s.addSighting(ctx, tx, sg, window, now, &families)
			if err != nil {
				return s.errf("add sighting", err)
			}
			if a.dup {
				res.Duplicates++
			} else {
				res.Sightings++
			}
			if a.notAsked {
				res.NotAsked++
			}
			res.Questions += len(a.asked)
			for _, d := range a.asked {
				devices[d] = true
			}
			return nil
		})
	})
	if err != nil {
		return store.SightingImport{}, err
	}
	for d := range devices {
		res.Devices = append(res.Devices, d)
	}
	slices.Sort(res.Devices)
	return res, nil
}

// AddSighting implements store.Sightings.
func (s *IntelStore) AddSighting(ctx context.Context, sg store.Sighting, window time.Duration, now time.Time) (int64, []string, error) {
	var a added
	err := s.withTx(ctx, func(tx Tx) error {
		if err := s.lockSightings(ctx, tx); err != nil {
			return err
		}
		var families map[string]bool
		var err error
		a, err = s.addSighting(ctx, tx, sg, window, now, &families)
		return err
	})
	if err != nil {
		return 0, nil, s.errf("add sighting", err)
	}
	return a.id, a.asked, nil
}

// lockSightings makes concurrent sighting imports take turns.
func (s *IntelStore) lockSightings(ctx context.Context, tx Tx) error {
	if _, err := tx.Exec(ctx, `INSERT INTO intel_meta (name, n) VALUES ('sightings', 0) ON CONFLICT (name) DO NOTHING`); err != nil {
		return err
	}
	_, err := readVersion(ctx, tx, "sightings", s.ForUpdate)
	return err
}

// added is what addSighting did.
type added struct {
	id       int64
	dup      bool     // the sighting was stored before
	notAsked bool     // no device can confirm it: nobody was asked
	asked    []string // the devices asked now
}

// addSighting stores sg unless it is stored already, and asks every
// device that checked in from its address within window of its time and
// was not asked about it yet. A sighting without a C2 asks about its
// family, only when the live set holds addresses of it; *families caches
// their keys for the transaction.
func (s *IntelStore) addSighting(ctx context.Context, tx Tx, sg store.Sighting, window time.Duration, now time.Time, families *map[string]bool) (added, error) {
	var a added
	err := tx.QueryRow(ctx, `SELECT id FROM sightings WHERE ip = $1 AND seen_at = $2 AND source = $3 AND family = $4 AND c2 = $5 ORDER BY id LIMIT 1`,
		sg.IP, sg.SeenAt.UnixMicro(), sg.Source, sg.Family, sg.C2).Scan(&a.id)
	switch {
	case err == nil:
		a.dup = true
	case errors.Is(err, ErrNoRows):
		if err := tx.QueryRow(ctx, `INSERT INTO sightings (ip, seen_at, family, c2, source, imported_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			sg.IP, sg.SeenAt.UnixMicro(), sg.Family, sg.C2, sg.Source, now.UnixMicro()).Scan(&a.id); err != nil {
			return a, err
		}
	default:
		return a, err
	}
	if sg.C2 == "" {
		if *families == nil {
			m, err := addressFamilies(ctx, tx)
			if err != nil {
				return a, err
			}
			*families = m
		}
		if k := protocol.FamilyKey(sg.Family); k == "" || !(*families)[k] {
			a.notAsked = true
			return a, nil
		}
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT device_id FROM checkins WHERE source_ip = $1 AND received_at >= $2 AND received_at <= $3 ORDER BY device_id`,
		sg.IP, tx.Time(sg.SeenAt.Add(-window)), tx.Time(sg.SeenAt.Add(window)))
	if err != nil {
		return a, err
	}
	var devices []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return a, err
		}
		devices = append(devices, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return a, err
	}
	for _, d := range devices {
		if a.dup {
			var id int64
			err := tx.QueryRow(ctx, `SELECT id FROM sighting_questions WHERE sighting_id = $1 AND device_id = $2 LIMIT 1`, a.id, d).Scan(&id)
			if err == nil {
				continue
			}
			if !errors.Is(err, ErrNoRows) {
				return a, err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sighting_questions (sighting_id, device_id, c2, family, seen_at, window_us, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.id, d, sg.C2, sg.Family, sg.SeenAt.UnixMicro(), window.Microseconds(), now.UnixMicro()); err != nil {
			return a, err
		}
		a.asked = append(a.asked, d)
	}
	return a, nil
}

// addressFamilies are the FamilyKeys of the families the live set holds
// addresses of (what a device can look for in its history).
func addressFamilies(ctx context.Context, q Querier) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT family FROM indicators WHERE removed_version IS NULL AND type IN ('ipv4', 'ipv6') AND family <> ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, err
		}
		if k := protocol.FamilyKey(f); k != "" {
			m[k] = true
		}
	}
	return m, rows.Err()
}

const questionCols = `id, sighting_id, device_id, c2, family, seen_at, window_us, created_at, answered_at, confirmed, evidence`

func (s *IntelStore) questions(ctx context.Context, sql string, args ...any) ([]store.Question, error) {
	rows, err := s.R.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Question
	for rows.Next() {
		var (
			q                  store.Question
			seen, win, created int64
			answered           *int64
			confirmed          int
		)
		if err := rows.Scan(&q.ID, &q.SightingID, &q.DeviceID, &q.C2, &q.Family, &seen, &win, &created, &answered, &confirmed, &q.Evidence); err != nil {
			return nil, err
		}
		q.SeenAt, q.CreatedAt, q.AnsweredAt = time.UnixMicro(seen).UTC(), time.UnixMicro(created).UTC(), fromUS(answered)
		q.Window, q.Confirmed = time.Duration(win)*time.Microsecond, confirmed != 0
		out = append(out, q)
	}
	return out, rows.Err()
}

// OpenQuestions implements store.Sightings.
func (s *IntelStore) OpenQuestions(ctx context.Context, deviceID string) ([]store.Question, error) {
	q, err := s.questions(ctx, `SELECT `+questionCols+` FROM sighting_questions WHERE device_id = $1 AND answered_at IS NULL ORDER BY id LIMIT 32`, deviceID)
	if err != nil {
		return nil, s.errf("open questions", err)
	}
	return q, nil
}

// AnswerQuestion implements store.Sightings.
func (s *IntelStore) AnswerQuestion(ctx context.Context, deviceID string, id int64, confirmed bool, evidence string, now time.Time) error {
	c := 0
	if confirmed {
		c = 1
	}
	var n int64
	err := s.withTx(ctx, func(tx Tx) error {
		var err error
		n, err = tx.Exec(ctx, `UPDATE sighting_questions SET answered_at = $1, confirmed = $2, evidence = $3
			WHERE id = $4 AND device_id = $5 AND answered_at IS NULL`, now.UnixMicro(), c, evidence, id, deviceID)
		return err
	})
	if err != nil {
		return s.errf("answer question", err)
	}
	if n == 0 {
		return fmt.Errorf("question %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// ConfirmedSince implements store.Sightings.
func (s *IntelStore) ConfirmedSince(ctx context.Context, deviceID string, since time.Time) ([]store.Question, error) {
	q, err := s.questions(ctx, `SELECT `+questionCols+` FROM sighting_questions WHERE device_id = $1 AND confirmed = 1 AND answered_at >= $2 ORDER BY answered_at DESC, id DESC`, deviceID, since.UnixMicro())
	if err != nil {
		return nil, s.errf("confirmed sightings", err)
	}
	slices.SortStableFunc(q, func(a, b store.Question) int { return cmp.Compare(b.AnsweredAt.UnixMicro(), a.AnsweredAt.UnixMicro()) })
	return q, nil
}
