package retention_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/retention"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/postgres"
	"github.com/herd-health/herd/internal/store/sqlite"
)

type opsStore interface {
	store.Store
	store.Retention
}

func stores(t *testing.T) map[string]func(t *testing.T) opsStore {
	m := map[string]func(t *testing.T) opsStore{
		"SQLite": func(t *testing.T) opsStore {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herd.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	if dsn := os.Getenv("HERD_TEST_POSTGRES"); dsn != "" {
		m["Postgres"] = func(t *testing.T) opsStore {
			ctx := context.Background()
			// A schema of its own per test keeps runs apart.
			schema := fmt.Sprintf("retention_test_%d", time.Now().UnixNano())
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				c, err := pgx.Connect(context.Background(), dsn)
				if err == nil {
					c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
					c.Close(context.Background())
				}
			})
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			s, err := postgres.Open(ctx, u.String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}
	return m
}

func TestRun(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { testRun(t, open(t)) })
	}
}

func testRun(t *testing.T, st opsStore) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := st.CreateDevice(ctx, store.Device{ID: "d", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: now.AddDate(0, 0, -100)}); err != nil {
		t.Fatal(err)
	}
	for _, age := range []int{90, 45, 31, 29, 1} {
		if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: "d", ReceivedAt: now.AddDate(0, 0, -age), Verdict: health.Affirming,
			PolicyID: "p@1", OS: "linux", SourceIP: "198.51.100.9"}); err != nil {
			t.Fatal(err)
		}
	}
	st.CreateNonce(ctx, "expired", now.Add(-time.Second))
	st.CreateNonce(ctx, "live", now.Add(time.Minute))

	// Defaults: addresses 30 days, history kept.
	r, err := retention.Run(ctx, st, retention.Config{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (retention.Result{SourceAddressesCleared: 3, NoncesDeleted: 1}); r != want {
		t.Errorf("default run = %+v, want %+v", r, want)
	}
	h, _ := st.Checkins(ctx, "d", 10)
	if len(h) != 5 || h[1].SourceIP != "198.51.100.9" || h[2].SourceIP != "" {
		t.Errorf("history after default run: %d rows, addresses %q %q", len(h), h[1].SourceIP, h[2].SourceIP)
	}
	// Keep 60 days of history; an injected later clock.
	r, err = retention.Run(ctx, st, retention.Config{HistoryDays: 60}, now.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	if want := (retention.Result{SourceAddressesCleared: 1, CheckinsDeleted: 1, NoncesDeleted: 1}); r != want {
		t.Errorf("second run = %+v, want %+v", r, want)
	}
	if h, _ := st.Checkins(ctx, "d", 10); len(h) != 4 {
		t.Errorf("history = %d rows, want 4", len(h))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    retention.Config
		ok   bool
	}{
		{"zero", retention.Config{}, true},
		{"set", retention.Config{SourceAddressDays: 7, HistoryDays: 365, Interval: "15m"}, true},
		{"bad interval", retention.Config{Interval: "often"}, false},
		{"tiny interval", retention.Config{Interval: "1ms"}, false},
		{"negative history", retention.Config{HistoryDays: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.c.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestRunDeletesEndedConsoleSessions: the job deletes console sessions
// past their deadlines and those whose account is gone, and keeps live
// ones.
func TestRunDeletesEndedConsoleSessions(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			cs := s.(store.ConsoleSessions)
			now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			if err := s.(store.ConsoleUsers).CreateConsoleUser(ctx, store.ConsoleUser{Name: "alice", PasswordHash: []byte("h"), CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			for i, idle := range []time.Duration{-time.Minute, time.Minute, 10 * time.Minute} {
				if err := cs.CreateConsoleSession(ctx, store.ConsoleSession{IDHash: []byte{byte(i + 1)}, Operator: "console:alice", User: "alice", CSRF: "c",
					CreatedAt: now.Add(-time.Hour), LastUsed: now.Add(-time.Hour), IdleUntil: now.Add(idle), ExpiresAt: now.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			r, err := retention.Run(ctx, s, retention.Config{}, now)
			if err != nil {
				t.Fatal(err)
			}
			if r.ConsoleSessionsDeleted != 1 {
				t.Errorf("deleted %d sessions, want the one idle past its deadline", r.ConsoleSessionsDeleted)
			}
			for i, want := range []bool{false, true, true} {
				_, err := cs.ConsoleSession(ctx, []byte{byte(i + 1)}, now)
				if (err == nil) != want {
					t.Errorf("session %d: live %v, want %v", i+1, err == nil, want)
				}
			}
			if r, _ := retention.Run(ctx, s, retention.Config{}, now.Add(5*time.Minute)); r.ConsoleSessionsDeleted != 1 {
				t.Errorf("five minutes later: deleted %d, want 1", r.ConsoleSessionsDeleted)
			}
		})
	}
}
