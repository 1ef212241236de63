package store

import (
	"context"
	"time"
)

// SightingsActivity tells an authority node whether sightings can matter
// to any check-in at all, so that in the common case (no question open,
// none confirmed recently) a check-in reads nothing about sightings. A
// node asks it every few seconds, not per check-in.
type SightingsActivity interface {
	// SightingsActive reports whether any device has an unanswered
	// question or a question confirmed at or after since.
	SightingsActive(ctx context.Context, since time.Time) (bool, error)
}
