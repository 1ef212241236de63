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
	"github.com/herd-health/herd/internal/store/sqlite"
)

// benchToday is the last day of the seeded history.
var benchToday = time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)

var (
	benchOnce  sync.Once
	benchStore *sqlite.Store
	benchErr   error
)

// benchService opens the million-device store, building it the first
// time a benchmark asks for it in this run (in $HERD_BENCH_DIR when set,
// so later runs reuse it; otherwise in a temporary directory).
func benchService(b *testing.B) *population.Service {
	b.Helper()
	benchOnce.Do(func() {
		dir := os.Getenv("HERD_BENCH_DIR")
		if dir == "" {
			if dir, benchErr = os.MkdirTemp("", "herd-popbench-"); benchErr != nil {
				return
			}
			benchCleanup = func() { os.RemoveAll(dir) }
		}
		ctx := context.Background()
		start := time.Now()
		var path string
		if path, benchErr = popseed.Build(ctx, dir, popseed.Shape{Today: benchToday}); benchErr != nil {
			return
		}
		b.Logf("seeded %s in %s", filepath.Base(path), time.Since(start).Round(time.Millisecond))
		benchStore, benchErr = sqlite.Open(ctx, path)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return &population.Service{Store: benchStore, Now: func() time.Time { return benchToday.Add(15 * time.Hour) }}
}

var benchCleanup = func() {}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != nil {
		benchStore.Close()
	}
	benchCleanup()
	os.Exit(code)
}

// BenchmarkOverview1M is the console's front page over a million devices
// and 30 days of history (target: under 300 ms).
func BenchmarkOverview1M(b *testing.B) {
	svc := benchService(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		o, err := svc.Overview(ctx, 30)
		if err != nil {
			b.Fatal(err)
		}
		if o.Population != 1_000_000 || len(o.Series) != 30 || o.Series[29].Total == 0 {
			b.Fatalf("overview: population %d, %d days, last day %d devices", o.Population, len(o.Series), o.Series[len(o.Series)-1].Total)
		}
	}
}

// BenchmarkCohortCount1M counts an at-risk cohort (firewall off and OS out
// of support) over a million devices.
func BenchmarkCohortCount1M(b *testing.B) {
	svc := benchService(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		p, err := svc.Cohort(ctx, "firewall and os_support", "", 1)
		if err != nil {
			b.Fatal(err)
		}
		if p.Count == 0 {
			b.Fatal("empty cohort")
		}
	}
}

// BenchmarkCohortPage1M lists a page of 100 cohort members, following the
// cursor to the fifth page.
func BenchmarkCohortPage1M(b *testing.B) {
	svc := benchService(b)
	ctx := context.Background()
	b.ResetTimer()
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
}
