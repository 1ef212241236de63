package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/herd-health/herd/internal/store"
)

// confirmedCleared is sighting_questions.confirmed for a confirmation an
// operator cleared after the device was cleaned: 1 is a live
// confirmation, 0 a denial. Readers of the hold ask for 1; reports of
// what devices confirmed ask for non-zero.
const confirmedCleared = 2

// ClearSightingHold implements store.SightingHolds.
func (s *IntelStore) ClearSightingHold(ctx context.Context, deviceID string) (int64, error) {
	var n int64
	found := true
	err := s.withTx(ctx, func(tx Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM devices WHERE id = $1`, deviceID).Scan(&one); err != nil {
			if errors.Is(err, ErrNoRows) {
				found = false
				return nil
			}
			return err
		}
		var err error
		n, err = tx.Exec(ctx, `UPDATE sighting_questions SET confirmed = $1 WHERE device_id = $2 AND confirmed = 1`, confirmedCleared, deviceID)
		return err
	})
	if err != nil {
		return 0, s.errf("clear sighting hold", err)
	}
	if !found {
		return 0, fmt.Errorf("device %q: %w", deviceID, store.ErrNotFound)
	}
	return n, nil
}
