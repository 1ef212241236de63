package population_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/population/popseed"
	"github.com/herd-health/herd/internal/store/postgres"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// benchToday is the last day of the seeded history.
var benchToday = time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)

// benchStore is one million-device store, built the first time a
// benchmark asks for it in this run.
type benchStore struct {
	once  sync.Once
	store population.Store
	close func()
	err   error
}

var (
	benchSQLite, benchPostgres benchStore
	benchCleanups              []func()
)

// sqliteService opens the million-device SQLite store (in
// $HERD_BENCH_DIR when set, so later runs reuse it; otherwise in a
// temporary directory).
func sqliteService(b *testing.B) *population.Service {
	b.Helper()
	return benchSQLite.service(b, func(ctx context.Context) (population.Store, func(), error) {
		dir := os.Getenv("HERD_BENCH_DIR")
		if dir == "" {
			d, err := os.MkdirTemp("", "herd-popbench-")
			if err != nil {
				return nil, nil, err
			}
			dir = d
			benchCleanups = append(benchCleanups, func() { os.RemoveAll(d) })
		}
		start := time.Now()
		path, err := popseed.Build(ctx, dir, popseed.Shape{Today: benchToday})
		if err != nil {
			return nil, nil, err
		}
		b.Logf("seeded %s in %s", filepath.Base(path), time.Since(start).Round(time.Millisecond))
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	})
}

// postgresService builds the same population in a scratch database on
// the server HERD_TEST_POSTGRES names (dropped when the run ends).
func postgresService(b *testing.B) *population.Service {
	b.Helper()
	admin := os.Getenv("HERD_TEST_POSTGRES")
	if admin == "" {
		b.Skip("HERD_TEST_POSTGRES is not set")
	}
	return benchPostgres.service(b, func(ctx context.Context) (population.Store, func(), error) {
		dsn, drop, err := popseed.Scratch(ctx, admin)
		if err != nil {
			return nil, nil, err
		}
		benchCleanups = append(benchCleanups, func() { drop() })
		start := time.Now()
		if err := popseed.BuildPostgres(ctx, dsn, popseed.Shape{Today: benchToday}); err != nil {
			return nil, nil, err
		}
		b.Logf("seeded PostgreSQL in %s", time.Since(start).Round(time.Millisecond))
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	})
}

func (s *benchStore) service(b *testing.B, open func(context.Context) (population.Store, func(), error)) *population.Service {
	s.once.Do(func() {
		var closeFn func()
		s.store, closeFn, s.err = open(context.Background())
		if closeFn != nil {
			s.close = closeFn
		}
	})
	if s.err != nil {
		b.Fatal(s.err)
	}
	return &population.Service{Store: s.store, Now: func() time.Time { return benchToday.Add(15 * time.Hour) }}
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range []*benchStore{&benchSQLite, &benchPostgres} {
		if s.close != nil {
			s.close()
		}
	}
	for i := len(benchCleanups) - 1; i >= 0; i-- {
		benchCleanups[i]()
	}
	os.Exit(code)
}

// backends runs bench on the SQLite store and, when HERD_TEST_POSTGRES
// is set, on the same population in PostgreSQL.
func backends(b *testing.B, bench func(b *testing.B, svc *population.Service)) {
	b.Run("sqlite", func(b *testing.B) { bench(b, sqliteService(b)) })
	b.Run("postgres", func(b *testing.B) { bench(b, postgresService(b)) })
}

// BenchmarkOverview1M is the console's front page over a million devices
// and 30 days of history (target: under 300 ms).
func BenchmarkOverview1M(b *testing.B) {
	backends(b, func(b *testing.B, svc *population.Service) {
		ctx := context.Background()
		for b.Loop() {
			o, err := svc.Overview(ctx, 30)
			if err != nil {
				b.Fatal(err)
			}
			if o.Population != 1_000_000 || len(o.Series) != 30 || o.Series[29].Total == 0 {
				b.Fatalf("overview: population %d, %d days, last day %d devices", o.Population, len(o.Series), o.Series[len(o.Series)-1].Total)
			}
		}
	})
}

// BenchmarkCohortCount1M counts an at-risk cohort (firewall off and OS out
// of support) over a million devices.
func BenchmarkCohortCount1M(b *testing.B) {
	backends(b, func(b *testing.B, svc *population.Service) {
		ctx := context.Background()
		for b.Loop() {
			p, err := svc.Cohort(ctx, "firewall and os_support", "", 1)
			if err != nil {
				b.Fatal(err)
			}
			if p.Count == 0 {
				b.Fatal("empty cohort")
			}
		}
	})
}

// BenchmarkCohortPage1M lists a page of 100 cohort members, following the
// cursor to the fifth page.
func BenchmarkCohortPage1M(b *testing.B) {
	backends(b, func(b *testing.B, svc *population.Service) {
		ctx := context.Background()
		for b.Loop() {
			cursor := ""
			for range 5 {
				p, err := svc.Cohort(ctx, "firewall", cursor, 100)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Devices) != 100 || p.Next == "" {
					b.Fatalf("page of %d, next %q", len(p.Devices), p.Next)
				}
				cursor = p.Next
			}
		}
	})
}

// BenchmarkDetect1M runs outbreak detection (every detector on the whole
// population and each segment value with an infection) over the same
// store.
func BenchmarkDetect1M(b *testing.B) {
	backends(b, func(b *testing.B, svc *population.Service) {
		ctx := context.Background()
		for b.Loop() {
			if _, err := svc.Detect(ctx, benchToday); err != nil {
				b.Fatal(err)
			}
		}
	})
}
