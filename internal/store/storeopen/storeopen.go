// Package storeopen opens the store a DSN names: "sqlite:PATH" or a bare
// path for SQLite, "postgres://…" or "postgresql://…" for PostgreSQL.
package storeopen

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/postgres"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// Options tune Open.
type Options struct {
	// Existing opens a store that is already there: a SQLite file that
	// does not exist, or a PostgreSQL database without herd's schema, is
	// an error (ErrNoDatabase) instead of a new, empty database. Every
	// command but the server opens stores this way.
	Existing bool
}

// ErrNoDatabase: Options.Existing was set and the SQLite file is not
// there, or the PostgreSQL database holds no herd schema.
var ErrNoDatabase = errors.New("no database")

// Open opens the store named by dsn, creating a SQLite database that
// does not exist yet.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith opens the store named by dsn as o says.
func OpenWith(ctx context.Context, dsn string, o Options) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if !o.Existing {
			return postgres.Open(ctx, dsn)
		}
		st, err := postgres.OpenExisting(ctx, dsn)
		if errors.Is(err, postgres.ErrNoSchema) {
			where := dsn
			if u, perr := url.Parse(dsn); perr == nil {
				where = u.Redacted()
			}
			return nil, fmt.Errorf("%w at %s (it holds no herd schema); start `herd serve` first or pass --db", ErrNoDatabase, where)
		}
		return st, err
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//"), o)
	case dsn == "":
		return nil, fmt.Errorf("store: no database named; use sqlite:PATH or postgres://…")
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return nil, fmt.Errorf("store: %q databases are not supported; use sqlite:PATH or postgres://…", scheme)
	}
	return openSQLite(ctx, dsn, o)
}

func openSQLite(ctx context.Context, path string, o Options) (store.Store, error) {
	if o.Existing && path != "" {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("%w at %s; start `herd serve` first or pass --db", ErrNoDatabase, path)
		case err != nil:
			return nil, fmt.Errorf("database %s: %w", path, err)
		case fi.IsDir():
			return nil, fmt.Errorf("database %s is a directory, not a SQLite file", path)
		}
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		if why := notWritable(path); why != "" {
			return nil, fmt.Errorf("sqlite database %s: %s (%w)", path, why, err)
		}
		return nil, err
	}
	return st, nil
}

// notWritable explains why the database at path cannot be written, or
// returns "" when it can as far as a probe shows.
func notWritable(path string) string {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Sprintf("directory %s does not exist", dir)
	}
	if _, err := os.Stat(path); err == nil {
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err != nil {
			return fmt.Sprintf("the file is not writable (%v)", errors.Unwrap(err))
		} else {
			f.Close()
		}
	}
	f, err := os.CreateTemp(dir, ".herd-write-probe-*")
	if err != nil {
		return fmt.Sprintf("directory %s is not writable (SQLite needs to create its journal there)", dir)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return ""
}
