package store

import "context"

// SightingHolds lets an operator end a device's sighting hold early,
// once the device has been cleaned.
type SightingHolds interface {
	// ClearSightingHold marks every question the device confirmed as
	// cleared: each keeps its answer and evidence (and still counts in
	// sighting reports) but no longer counts in ConfirmedSince or
	// SightingsActive, so the device's next check-in is judged on its own
	// evidence. It returns how many confirmations were cleared (0 when
	// none held the device); ErrNotFound when the device is not enrolled.
	ClearSightingHold(ctx context.Context, deviceID string) (int64, error)
}
