package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

// A migration numbered below the highest applied one (merged late) is
// still applied on open, and only once.
func TestMigrateFillsGap(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "herd.db")
	ms, err := sqldb.Migrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version != 1 && m.Version != 3 {
			continue
		}
		if _, err := db.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = 2`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("migration 0002 recorded %d times (%v), want once", n, err)
	}
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM status_lists`).Scan(&n); err != nil {
		t.Fatalf("0002's table status_lists is missing: %v", err)
	}
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(ms))
	}
}

// A device that checked in before device nonces existed starts from its
// last check-in: a nonce issued up to then is refused, a later one taken.
func TestDeviceNonceMigrationStartsAtLastCheckin(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "herd.db")
	ms, err := sqldb.Migrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 90 {
			continue
		}
		if _, err := db.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	seen := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	if _, err := db.ExecContext(ctx, `INSERT INTO devices (id, public_key, os, enrolled_at, last_seen, last_verdict) VALUES
		('seen', x'00', 'linux', 1, ?, 'affirming'), ('new', x'00', 'linux', 1, NULL, '')`, seen.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for _, tc := range []struct {
		dev  string
		at   time.Time
		used bool
	}{
		{"seen", seen.Add(-time.Minute), true},
		{"seen", seen, true},
		{"seen", seen.Add(time.Microsecond), false},
		{"new", time.UnixMicro(1), false},
	} {
		used, err := s.DeviceNonceUsed(ctx, tc.dev, store.DeviceNonce{IssuedAt: tc.at.UnixMicro(), Random: []byte{0xff, 0xff}})
		if err != nil || used != tc.used {
			t.Errorf("%s, nonce at %s: used = %v, %v; want %v", tc.dev, tc.at.Format(time.RFC3339Nano), used, err, tc.used)
		}
	}
}
