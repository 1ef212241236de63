package store

import (
	"context"
	"time"
)

// Feeds is what the scheduled feed refresh needs beyond Intel.
type Feeds interface {
	// TakeLease takes the named lease until until, when no one holds it
	// at now (its last holder's until has passed); it reports whether it
	// was taken. Nodes sharing a store use it so only one of them
	// refreshes a feed at a time.
	TakeLease(ctx context.Context, name string, now, until time.Time) (bool, error)
	// TouchIndicators marks as refreshed at now every live indicator the
	// named feed listed that was refreshed at or after since (the feed's
	// last full import: what it dropped then stays stale), for a feed
	// that answered "not modified". It returns how many were touched.
	TouchIndicators(ctx context.Context, source string, since, now time.Time) (int64, error)
}
