package sqlite

import (
	"context"
	"time"

	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

var _ store.Feeds = (*Store)(nil)

// intelWriter runs single statements on the writer connection.
func (s *Store) intelWriter() *sqldb.IntelStore {
	return &sqldb.IntelStore{DB: beginner{s.w}, R: querier{s.w}, Name: "sqlite"}
}

// TakeLease implements store.Feeds.
func (s *Store) TakeLease(ctx context.Context, name string, now, until time.Time) (bool, error) {
	return s.intelWriter().TakeLease(ctx, name, now, until)
}

// EndLease implements store.Feeds.
func (s *Store) EndLease(ctx context.Context, name string, at time.Time) error {
	return s.intelWriter().EndLease(ctx, name, at)
}

// TouchIndicators implements store.Feeds.
func (s *Store) TouchIndicators(ctx context.Context, source string, since, now time.Time) (int64, error) {
	return s.intelWriter().TouchIndicators(ctx, source, since, now)
}
