package sqldb

import (
	"context"
	"time"
)

// SightingsActive implements store.SightingsActivity.
func (s *IntelStore) SightingsActive(ctx context.Context, since time.Time) (bool, error) {
	var n int64
	err := s.R.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM (SELECT 1 FROM sighting_questions WHERE answered_at IS NULL LIMIT 1) o) +
		(SELECT COUNT(*) FROM (SELECT 1 FROM sighting_questions WHERE confirmed = 1 AND answered_at >= $1 LIMIT 1) c)`,
		since.UnixMicro()).Scan(&n)
	if err != nil {
		return false, s.errf("sightings active", err)
	}
	return n > 0, nil
}
