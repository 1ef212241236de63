package postgres

import (
	"context"
	"time"

	"github.com/herd-health/herd/internal/store"
)

var _ store.Feeds = (*Store)(nil)

// TakeLease implements store.Feeds: the upsert takes the row lock, so
// of several nodes racing for an ended lease exactly one takes it.
func (s *Store) TakeLease(ctx context.Context, name string, now, until time.Time) (bool, error) {
	return s.intel().TakeLease(ctx, name, now, until)
}

// EndLease implements store.Feeds.
func (s *Store) EndLease(ctx context.Context, name string, at time.Time) error {
	return s.intel().EndLease(ctx, name, at)
}

// TouchIndicators implements store.Feeds.
func (s *Store) TouchIndicators(ctx context.Context, source string, since, now time.Time) (int64, error) {
	return s.intel().TouchIndicators(ctx, source, since, now)
}
