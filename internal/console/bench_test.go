package console_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/console"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/population/popseed"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// BenchmarkConsoleOverview1M renders the console's overview page, through
// its handler with a signed-in session, over a million devices and 30
// days of history (the store popseed builds; in $HERD_BENCH_DIR when set,
// so later runs reuse it).
func BenchmarkConsoleOverview1M(b *testing.B) {
	ctx := context.Background()
	dir := os.Getenv("HERD_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	today := time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	path, err := popseed.Build(ctx, dir, popseed.Shape{Today: today})
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := func() time.Time { return today.Add(15 * time.Hour) }
	c, err := console.New(console.Config{Issuer: "https://herd.example", Now: now},
		console.Deps{Store: st, Population: &population.Service{Store: st, Now: now}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.ConsoleUser(ctx, "bench"); err != nil {
		if err := console.CreateUser(ctx, st, "bench", "benchmark password", now()); err != nil {
			b.Fatal(err)
		}
	}
	cl := newClient(b, c.Handler(), "192.0.2.10")
	if code := cl.login("bench", "benchmark password"); code != http.StatusSeeOther {
		b.Fatalf("login: %d", code)
	}
	b.ResetTimer()
	for b.Loop() {
		w := cl.do("GET", "/console/", nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "1,000,000") {
			b.Fatalf("overview: %d\n%.300s", w.Code, w.Body.String())
		}
	}
}
