// Package storeopen opens the store a DSN names: "sqlite:PATH" or a bare
// path for SQLite, "postgres://…" or "postgresql://…" for PostgreSQL.
package storeopen

import (
	"context"
	"fmt"
	"strings"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/postgres"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// Open opens the store named by dsn.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//"))
	case dsn == "":
		return nil, fmt.Errorf("store: no database named; use sqlite:PATH or postgres://…")
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return nil, fmt.Errorf("store: %q databases are not supported; use sqlite:PATH or postgres://…", scheme)
	}
	return sqlite.Open(ctx, dsn)
}
