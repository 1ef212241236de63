package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
	"github.com/herd-health/herd/internal/store/storetest"
)

// testDSN is the server the tests use; they skip only when it is unset.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("HERD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("HERD_TEST_POSTGRES is not set")
	}
	return dsn
}

// freshSchema creates an empty schema, drops it when the test ends, and
// returns a DSN whose search_path points at it, so runs never see each
// other's data.
func freshSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "herd_test_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(ctx)
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func openFresh(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), freshSchema(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestPostgresConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}

// Nodes starting together apply each migration once, and all open.
func TestPostgresConcurrentMigrate(t *testing.T) {
	dsn := freshSchema(t)
	const nodes = 6
	var wg sync.WaitGroup
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", i, err)
		}
		defer stores[i].Close()
	}
	var rows, maxVersion int
	if err := stores[0].pool.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &maxVersion); err != nil {
		t.Fatalf("schema_migrations: %v", err)
	}
	ms, err := sqldb.Migrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) || maxVersion != ms[len(ms)-1].Version {
		t.Errorf("schema_migrations has %d rows, max %d; want %d, %d", rows, maxVersion, len(ms), ms[len(ms)-1].Version)
	}
	// One node's write is visible to another.
	if err := stores[1].CreateDevice(t.Context(), store.Device{ID: "d", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[2].Device(t.Context(), "d"); err != nil {
		t.Errorf("device written by one node not seen by another: %v", err)
	}
}

func TestPostgresNewerSchemaRefused(t *testing.T) {
	dsn := freshSchema(t)
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(t.Context(), dsn)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema = %v, want a 'newer' error", err)
	}
}

func TestPostgresDeleteExpiredNonces(t *testing.T) {
	s := openFresh(t)
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

func TestPostgresOpenBadDSN(t *testing.T) {
	if _, err := Open(t.Context(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if _, err := Open(t.Context(), "postgres://%zz"); err == nil {
		t.Fatal("Open of a malformed DSN succeeded")
	}
}

func BenchmarkRecordCheckin(b *testing.B) {
	s := openFresh(b)
	defer s.Close()
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
	b.SetParallelism(8) // commits wait on the WAL flush; keep several in flight
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

// A migration numbered below the highest applied one (merged late) is
// still applied on open, and only once.
func TestPostgresMigrateFillsGap(t *testing.T) {
	dsn := freshSchema(t)
	ctx := t.Context()
	ms, err := sqldb.Migrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version != 1 && m.Version != 3 {
			continue
		}
		if _, err := c.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := c.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(ctx)

	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = 2`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("migration 0002 recorded %d times (%v), want once", n, err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM status_lists`).Scan(&n); err != nil {
		t.Fatalf("0002's table status_lists is missing: %v", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(ms))
	}
}
