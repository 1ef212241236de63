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

func TestOpenExisting(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "herd.db")
	s, err := Open(t.Context(), "sqlite:"+existing)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, tc := range []struct {
		name, dsn, want string
		made            string // a path that must still not exist afterwards
	}{
		{"existing file", "sqlite:" + existing, "", ""},
		{"existing bare path", existing, "", ""},
		{"missing file", "sqlite:" + filepath.Join(dir, "typo.db"), "no database at " + filepath.Join(dir, "typo.db") + "; start `herd serve` first or pass --db", filepath.Join(dir, "typo.db")},
		{"missing directory", filepath.Join(dir, "nonexistent", "herd.db"), "no database at", filepath.Join(dir, "nonexistent")},
		{"a directory", "sqlite:" + dir, "is a directory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenWith(t.Context(), tc.dsn, Options{Existing: true})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("OpenWith(%q): %v", tc.dsn, err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("OpenWith(%q) opened a store", tc.dsn)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenWith(%q) = %v, want it to say %q", tc.dsn, err, tc.want)
			}
			if tc.made != "" {
				if !errors.Is(err, ErrNoDatabase) {
					t.Errorf("error %v is not ErrNoDatabase", err)
				}
				if _, err := os.Stat(tc.made); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s was created (%v)", tc.made, err)
				}
			}
		})
	}
}

// A database that cannot be created says where and why, not SQLite's
// "unable to open database file (14)".
func TestOpenNotWritable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "gone", "herd.db")
	_, err := Open(t.Context(), "sqlite:"+missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open in a missing directory: %v, want the path and that the directory does not exist", err)
	}
	// /proc is read-only even for root.
	if fi, serr := os.Stat("/proc/self"); serr != nil || !fi.IsDir() {
		t.Skip("no /proc on this system")
	}
	ro := "/proc/herd-test.db"
	_, err = Open(t.Context(), "sqlite:"+ro)
	if err == nil || !strings.Contains(err.Error(), ro) || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("Open on a read-only directory: %v, want the path and that it is not writable", err)
	}
}
