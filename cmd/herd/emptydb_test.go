package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPostgresCommandsRefuseAnEmptyDatabase: an operator command given a
// PostgreSQL database with no herd schema says so, as for a missing
// SQLite file, and creates nothing there; only herd serve makes a schema.
func TestPostgresCommandsRefuseAnEmptyDatabase(t *testing.T) {
	dsn := os.Getenv("HERD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("HERD_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "herd_empty_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping the scratch database %s: %v", name, err)
		}
		admin.Close(context.Background())
	})
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	empty := u.String()
	tables := func() int {
		c, err := pgx.Connect(ctx, empty)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var n int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, args := range [][]string{
		{"stats", "--json"},
		{"devices", "list"},
		{"rp", "list"},
		{"admin", "token", "list"},
		{"keys", "list"},
		{"retention", "run"},
		{"revoke", "--device", "x"},
	} {
		code, out, errs := herd(t, append(args, "--db", empty)...)
		if code != 1 || !strings.Contains(errs, "no database at") || !strings.Contains(errs, "start `herd serve` first") || !strings.Contains(errs, name) {
			t.Errorf("herd %v: exit %d, stdout %q, stderr %q; want exit 1 and the missing-database error", args, code, out, errs)
		}
		if n := tables(); n != 0 {
			t.Fatalf("herd %v made %d tables in the empty database", args, n)
		}
	}
}
