package storeopen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/postgres"
	"github.com/herd-health/herd/internal/store/sqlite"
)

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, dsn, file string }{
		{"scheme", "sqlite:" + filepath.Join(dir, "a.db"), "a.db"},
		{"scheme with slashes", "sqlite://" + filepath.Join(dir, "b.db"), "b.db"},
		{"bare path", filepath.Join(dir, "c.db"), "c.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.dsn)
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.dsn, err)
			}
			defer s.Close()
			if _, ok := s.(*sqlite.Store); !ok {
				t.Errorf("Open(%q) = %T, want *sqlite.Store", tc.dsn, s)
			}
			// It is a working store, in the file named.
			if err := s.CreateDevice(t.Context(), store.Device{ID: "d", PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: time.Now()}); err != nil {
				t.Fatalf("CreateDevice: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, tc.file)); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	for _, tc := range []struct{ name, dsn, want string }{
		{"empty", "", "no database"},
		{"mysql", "mysql://root@localhost/herd", `"mysql" databases are not supported`},
		{"http", "https://example.com/db", `"https" databases are not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.dsn)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) = %v, want it to say %q", tc.dsn, err, tc.want)
			}
		})
	}
}

func TestOpenPostgres(t *testing.T) {
	dsn := os.Getenv("HERD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("HERD_TEST_POSTGRES is not set")
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		t.Skipf("HERD_TEST_POSTGRES is not a URL")
	}
	// A schema of our own keeps this run's tables apart.
	schema := "herd_test_open_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		u := scheme + strings.TrimPrefix(strings.TrimPrefix(dsn, "postgresql://"), "postgres://") + sep + "search_path=" + schema
		s, err := Open(t.Context(), u)
		if err != nil {
			t.Fatalf("Open(%s…): %v", scheme, err)
		}
		if _, ok := s.(*postgres.Store); !ok {
			t.Errorf("Open(%s…) = %T, want *postgres.Store", scheme, s)
		}
		if _, err := s.Device(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Device on a fresh schema = %v, want ErrNotFound", err)
		}
		s.Close()
	}
}
