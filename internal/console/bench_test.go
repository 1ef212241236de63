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
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/postgres"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// benchStore is what the console benchmark runs on.
type benchStore interface {
	console.Store
	population.Store
	store.Store
}

// BenchmarkConsoleOverview1M renders the console's overview page, through
// its handler with a signed-in session (looked up in the store) and its
// audit record, over a million devices and 30 days of history: on
// SQLite (the store popseed builds; in $HERD_BENCH_DIR when set, so later
// runs reuse it) and, when HERD_TEST_POSTGRES is set, on the same
// population in a scratch PostgreSQL database dropped at the end.
func BenchmarkConsoleOverview1M(b *testing.B) {
	today := time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	b.Run("sqlite", func(b *testing.B) {
		dir := os.Getenv("HERD_BENCH_DIR")
		if dir == "" {
			dir = b.TempDir()
		}
		path, err := popseed.Build(context.Background(), dir, popseed.Shape{Today: today})
		if err != nil {
			b.Fatal(err)
		}
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchOverview(b, st, today)
	})
	b.Run("postgres", func(b *testing.B) {
		admin := os.Getenv("HERD_TEST_POSTGRES")
		if admin == "" {
			b.Skip("HERD_TEST_POSTGRES is not set")
		}
		ctx := context.Background()
		dsn, drop, err := popseed.Scratch(ctx, admin)
		if err != nil {
			b.Fatal(err)
		}
		defer drop()
		if err := popseed.BuildPostgres(ctx, dsn, popseed.Shape{Today: today}); err != nil {
			b.Fatal(err)
		}
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchOverview(b, st, today)
	})
}

func benchOverview(b *testing.B, st benchStore, today time.Time) {
	ctx := context.Background()
	// The clock moves a second per page, so the session's use is
	// recorded once a minute, as it would be for a person reading.
	clock := today.Add(15 * time.Hour)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
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
