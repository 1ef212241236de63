// Package popseed builds a large store for the population and console
// benchmarks, on SQLite or PostgreSQL: a million devices and 30 days of
// aggregates, as RecordCheckin would have left them after a month of
// check-ins, written directly in one transaction (building them through
// check-ins would take hours). Both stores get the same population from
// the same seeded generator.
package popseed

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// Shape is the size of the seeded population.
type Shape struct {
	Devices int // enrolled devices (default 1,000,000)
	Days    int // days of aggregates ending on Today (default 30)
	// Today is the last day of history (midnight UTC).
	Today time.Time
}

// osVersions are the OS families and releases of the seeded population.
var osVersions = []struct{ os, version string }{
	{"windows", "10.0.19045"}, {"windows", "10.0.22631"}, {"windows", "10.0.26100"},
	{"darwin", "13.6.9"}, {"darwin", "14.7"}, {"darwin", "15.1"},
	{"linux", "debian 12"}, {"linux", "ubuntu 22.04"}, {"linux", "ubuntu 24.04"}, {"linux", "fedora 40"},
}

var agents = []string{"0.9.2", "1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.3.0"}

var countries = []string{"", "AR", "AU", "BR", "CA", "CH", "CN", "CZ", "DE", "DK", "EG", "ES", "FI", "FR", "GB", "HK",
	"ID", "IE", "IN", "IT", "JP", "KE", "KR", "MX", "NG", "NL", "NO", "NZ", "PH", "PL", "PT", "RO", "SE", "SG", "TH",
	"TR", "TW", "UA", "US", "VN"}

var families = []string{"emotet", "qakbot", "lumma", store.UnknownFamily}

// Segments is how many segments the seeded population has.
func Segments() int { return len(osVersions) * len(agents) * len(countries) }

// Build creates (or reuses, when it exists from an earlier Build with the
// same shape) the database dir/population-<devices>-<days>.db and returns
// its path. The store's own migrations make the schema.
func Build(ctx context.Context, dir string, sh Shape) (string, error) {
	if sh.Devices == 0 {
		sh.Devices = 1_000_000
	}
	if sh.Days == 0 {
		sh.Days = 30
	}
	path := filepath.Join(dir, fmt.Sprintf("population-%d-%d-%s.db", sh.Devices, sh.Days, sh.Today.Format("20060102")))
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return "", err
	}
	stats, err := st.Stats(ctx)
	st.Close()
	if err != nil {
		return "", err
	}
	if stats.Devices == int64(sh.Devices) {
		return path, nil
	}
	db, err := sql.Open("sqlite", path+"?_busy_timeout=10000&_journal_mode=WAL&_synchronous=OFF")
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := fill(ctx, db, sh); err != nil {
		return "", fmt.Errorf("popseed: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return "", fmt.Errorf("popseed: analyze: %w", err)
	}
	return path, nil
}

// sink receives the generated population.
type sink interface {
	device(id string, sg store.Segment, enrolled, seen time.Time, v health.Tier, m store.FailMask) error
	counter(name string, n int64) error
	mask(m store.FailMask, n int64) error
	daily(kind store.AggregateKind, day string, sg store.Segment, key string, n int64) error
}

// generate draws the population of shape sh into out.
func generate(sh Shape, out sink) error {
	r := rand.New(rand.NewPCG(1, uint64(sh.Devices)))
	nseg := Segments()
	seg := func(i int) store.Segment {
		c := i % len(countries)
		a := (i / len(countries)) % len(agents)
		o := i / (len(countries) * len(agents))
		ov := osVersions[o]
		return store.Segment{OS: ov.os, OSVersion: ov.version, Agent: agents[a], Country: countries[c]}
	}
	// Devices: segment weights are skewed (a few big segments, many small
	// ones), verdicts mostly affirming.
	weights := make([]float64, nseg)
	var wsum float64
	for i := range weights {
		weights[i] = 1 / (1 + float64(r.IntN(40)))
		wsum += weights[i]
	}
	perSeg := make([]int, nseg)
	left := sh.Devices
	for i := range perSeg {
		perSeg[i] = int(float64(sh.Devices) * weights[i] / wsum)
		left -= perSeg[i]
	}
	perSeg[0] += left

	enrolled := sh.Today.AddDate(0, 0, -sh.Days)
	byVerdict := map[health.Tier]int64{}
	masks := map[store.FailMask]int64{}
	n := 0
	for s, cnt := range perSeg {
		sg := seg(s)
		for range cnt {
			n++
			v, m := deviceState(r)
			seen := sh.Today.Add(-time.Duration(r.Int64N(int64(7 * 24 * time.Hour)))).Add(12 * time.Hour).Truncate(time.Microsecond)
			byVerdict[v]++
			masks[m]++
			if err := out.device(fmt.Sprintf("dev-%08x%08x", r.Uint32(), n), sg, enrolled, seen, v, m); err != nil {
				return err
			}
		}
	}
	if err := out.counter(sqldb.DevicesCounter, int64(sh.Devices)); err != nil {
		return err
	}
	if err := out.counter(sqldb.CheckinsCounter, int64(sh.Devices)*int64(sh.Days)*7/10); err != nil {
		return err
	}
	for _, v := range []health.Tier{health.Affirming, health.Warning, health.Contraindicated, health.None} {
		if k := byVerdict[v]; k > 0 {
			if err := out.counter(sqldb.VerdictCounter(v), k); err != nil {
				return err
			}
		}
	}
	for m := store.FailMask(0); m < 1<<len(health.CheckIDs); m++ {
		if k := masks[m]; k > 0 {
			if err := out.mask(m, k); err != nil {
				return err
			}
		}
	}

	// Daily cells: about 70% of a segment's devices check in on a day;
	// their verdicts, failing checks and new infections.
	put := func(kind store.AggregateKind, day string, sg store.Segment, key string, n int64) error {
		if n <= 0 {
			return nil
		}
		return out.daily(kind, day, sg, key, n)
	}
	for d := range sh.Days {
		day := sh.Today.AddDate(0, 0, d-sh.Days+1).Format(time.DateOnly)
		for s, devs := range perSeg {
			sg := seg(s)
			active := int64(float64(devs) * (0.6 + 0.2*r.Float64()))
			warn := active * int64(15+r.IntN(10)) / 100
			contra := active * int64(r.IntN(3)) / 100
			none := active * int64(r.IntN(2)) / 100
			for _, c := range []struct {
				v health.Tier
				n int64
			}{{health.Affirming, active - warn - contra - none}, {health.Warning, warn}, {health.Contraindicated, contra}, {health.None, none}} {
				if err := put(store.AggVerdict, day, sg, string(c.v), c.n); err != nil {
					return err
				}
			}
			for i, id := range health.CheckIDs {
				if id == health.Malware {
					if err := put(store.AggFailing, day, sg, string(id), contra); err != nil {
						return err
					}
					continue
				}
				if err := put(store.AggFailing, day, sg, string(id), warn*int64(1+(i*7+s)%5)/8); err != nil {
					return err
				}
			}
			if contra > 0 {
				fam := families[r.IntN(len(families))]
				if err := put(store.AggInfection, day, sg, fam, 1+contra/4); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sqliteSink writes into a SQLite transaction.
type sqliteSink struct {
	ctx                  context.Context
	dev, cnt, mk, pdaily *sql.Stmt
}

func (s *sqliteSink) device(id string, sg store.Segment, enrolled, seen time.Time, v health.Tier, m store.FailMask) error {
	_, err := s.dev.ExecContext(s.ctx, id, seedKey, sg.OS, enrolled.UnixMicro(), seen.UnixMicro(), string(v),
		seen.UnixMicro(), string(v), sg.OS, sg.OSVersion, sg.Agent, sg.Country, int64(m))
	return err
}

func (s *sqliteSink) counter(name string, n int64) error {
	_, err := s.cnt.ExecContext(s.ctx, name, n)
	return err
}

func (s *sqliteSink) mask(m store.FailMask, n int64) error {
	_, err := s.mk.ExecContext(s.ctx, int64(m), n)
	return err
}

func (s *sqliteSink) daily(kind store.AggregateKind, day string, sg store.Segment, key string, n int64) error {
	_, err := s.pdaily.ExecContext(s.ctx, string(kind), day, sg.OS, sg.OSVersion, sg.Agent, sg.Country, key, n)
	return err
}

func fill(ctx context.Context, db *sql.DB, sh Shape) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	out := &sqliteSink{ctx: ctx}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&out.dev, `INSERT INTO devices (id, public_key, os, enrolled_at, last_seen, last_verdict, last_policy,
		pop_at, pop_verdict, pop_os, pop_os_version, pop_agent, pop_country, fail_mask) VALUES (?, ?, ?, ?, ?, ?, 'default', ?, ?, ?, ?, ?, ?, ?)`},
		{&out.cnt, `INSERT INTO counters (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = excluded.n`},
		{&out.mk, `INSERT INTO pop_masks (mask, n) VALUES (?, ?)`},
		{&out.pdaily, `INSERT INTO pop_daily (kind, day, os, os_version, agent, country, key, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
	} {
		if *p.dst, err = tx.PrepareContext(ctx, p.q); err != nil {
			return err
		}
	}
	if err := generate(sh, out); err != nil {
		return err
	}
	// The whole-population cells RecordCheckin keeps beside pop_daily.
	if _, err := tx.ExecContext(ctx, `DELETE FROM pop_daily_total`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pop_daily_total (kind, day, key, n)
		SELECT kind, day, key, SUM(n) FROM pop_daily GROUP BY kind, day, key`); err != nil {
		return err
	}
	return tx.Commit()
}

// deviceState draws a device's latest verdict and failing set.
func deviceState(r *rand.Rand) (health.Tier, store.FailMask) {
	x := r.IntN(1000)
	switch {
	case x < 780:
		return health.Affirming, 0
	case x < 980:
		var m store.FailMask
		for m == 0 {
			for i := range len(health.CheckIDs) - 1 { // all but malware
				if r.IntN(6) == 0 {
					m |= 1 << i
				}
			}
		}
		return health.Warning, m
	case x < 995:
		return health.Contraindicated, 1 << (len(health.CheckIDs) - 1)
	}
	return health.None, 0
}
