package postgres

import "context"

// ClearSightingHold implements store.SightingHolds.
func (s *Store) ClearSightingHold(ctx context.Context, deviceID string) (int64, error) {
	return s.intel().ClearSightingHold(ctx, deviceID)
}
