package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
	"github.com/herd-health/herd/internal/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx := t.Context()
	for _, tc := range []struct {
		name, pragma, want string
	}{
		{"journal mode", "journal_mode", "wal"},
		{"synchronous FULL", "synchronous", "2"},
		{"foreign keys", "foreign_keys", "1"},
		{"busy timeout", "busy_timeout", "10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := s.w.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("writer PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
	// Readers cannot write.
	if _, err := s.r.ExecContext(ctx, `DELETE FROM counters`); err == nil {
		t.Error("a reader connection accepted a write")
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herd.db")
	ctx := t.Context()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.CreateDevice(ctx, store.Device{ID: "d1", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: time.Unix(1, 0)}); err != nil {
		t.Fatalf("CreateDevice: %v", err)
	}
	if _, err := s.RecordCheckin(ctx, store.Checkin{DeviceID: "d1", ReceivedAt: time.Unix(2, 0), Verdict: health.Affirming, Statement: []byte("x")}); err != nil {
		t.Fatalf("RecordCheckin: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Devices != 1 || st.Checkins != 1 || st.ByVerdict[health.Affirming] != 1 {
		t.Errorf("Stats after reopen = %+v", st)
	}
	var versions, maxVersion int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&versions, &maxVersion); err != nil {
		t.Fatalf("schema_migrations: %v", err)
	}
	ms, err := sqldb.Migrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(ms) || maxVersion != ms[len(ms)-1].Version {
		t.Errorf("schema_migrations has %d rows, max %d; want %d, %d", versions, maxVersion, len(ms), ms[len(ms)-1].Version)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herd.db")
	ctx := t.Context()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema = %v, want a 'newer' error", err)
	}
}

func TestOpenBadPath(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"empty", ""},
		{"query", "/tmp/x.db?_pragma=foo"},
		{"missing directory", "/nonexistent-dir-herd/x/y.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.path)
			}
		})
	}
}

func TestDeleteExpiredNonces(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, exp := range []time.Duration{-time.Hour, -time.Second, time.Minute} {
		if err := s.CreateNonce(ctx, fmt.Sprint("n", i), now.Add(exp)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredNonces(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredNonces = %d, %v; want 2", n, err)
	}
	if err := s.ConsumeNonce(ctx, "n2", now); err != nil {
		t.Errorf("live nonce was removed: %v", err)
	}
}

func BenchmarkRecordCheckin(b *testing.B) {
	s := openTemp(b)
	defer s.Close()
	benchRecordCheckin(b, s)
}

func benchRecordCheckin(b *testing.B, s store.Store) {
	ctx := context.Background()
	const devices = 1000
	for i := range devices {
		if err := s.CreateDevice(ctx, store.Device{ID: fmt.Sprint("bench-", i), PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	stmt := []byte(strings.Repeat("x", 1500))
	verdicts := []health.Tier{health.Affirming, health.Affirming, health.Affirming, health.Warning}
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			c := store.Checkin{
				DeviceID:   fmt.Sprint("bench-", i%devices),
				ReceivedAt: time.Now(),
				Verdict:    verdicts[i%int64(len(verdicts))],
				PolicyID:   "default@1",
				Findings:   []health.Finding{{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported}},
				OS:         "linux",
				OSVersion:  "12",
				Agent:      "herd-agent/bench",
				Statement:  stmt,
				SourceIP:   "192.0.2.1",
			}
			if _, err := s.RecordCheckin(ctx, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkins/s")
}
