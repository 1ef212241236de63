package sqlite

import (
	"context"
	"time"
)

// SightingsActive implements store.SightingsActivity.
func (s *Store) SightingsActive(ctx context.Context, since time.Time) (bool, error) {
	return s.intel().SightingsActive(ctx, since)
}
