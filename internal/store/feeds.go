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
	// EndLease makes the named lease end at at when it would end later:
	// its holder failed and will retry then, and so may another node.
	// A lease not held is left alone.
	EndLease(ctx context.Context, name string, at time.Time) error
	// TouchIndicators marks as refreshed at now every live indicator the
	// named feed listed that was refreshed at or after since (the feed's
	// last full import: what it dropped then stays stale), for a feed
	// that answered "not modified". It returns how many were touched.
	TouchIndicators(ctx context.Context, source string, since, now time.Time) (int64, error)
}
