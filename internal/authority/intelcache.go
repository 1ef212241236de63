package authority

import (
	"context"
	"sync"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// What a check-in reads about threat intelligence, cached per node for
// Config.IntelCacheTTL: the indicator bundle version (offered in every
// answer) and whether any sighting question is open or was confirmed
// within SightingHold. Imports and sightings are made by other processes
// (feeds, the CLI, other nodes), so the cache ends by time, not by
// invalidation; within one node, a device's own confirmed answer marks
// sightings active at once. With the flag down, a check-in that carries
// no answers reads no sighting at all.

type intelCache struct {
	mu       sync.Mutex
	ver      int64
	verAt    time.Time
	active   bool
	activeAt time.Time
}

// indicatorsVersion is the live bundle version, cached for the TTL.
func (a *Authority) indicatorsVersion(ctx context.Context, now time.Time) (int64, error) {
	s, ttl := a.intelS, a.cfg.IntelCacheTTL
	if ttl > 0 {
		s.cache.mu.Lock()
		v, at := s.cache.ver, s.cache.verAt
		s.cache.mu.Unlock()
		if !at.IsZero() && now.Sub(at) < ttl && now.Sub(at) >= 0 {
			return v, nil
		}
	}
	v, err := s.store.IndicatorsVersion(ctx)
	if err != nil || ttl <= 0 {
		return v, err
	}
	s.cache.mu.Lock()
	s.cache.ver, s.cache.verAt = v, now
	s.cache.mu.Unlock()
	return v, nil
}

// sightingsActive reports whether a check-in must read the device's
// questions and confirmed sightings. It is true whenever the store cannot
// tell or the cache is off.
func (a *Authority) sightingsActive(ctx context.Context, now time.Time) (bool, error) {
	s, ttl := a.intelS, a.cfg.IntelCacheTTL
	sa, ok := s.store.(store.SightingsActivity)
	if ttl <= 0 || !ok {
		return true, nil
	}
	s.cache.mu.Lock()
	v, at := s.cache.active, s.cache.activeAt
	s.cache.mu.Unlock()
	if !at.IsZero() && now.Sub(at) < ttl && now.Sub(at) >= 0 {
		return v, nil
	}
	v, err := sa.SightingsActive(ctx, now.Add(-SightingHold))
	if err != nil {
		return true, err
	}
	s.cache.mu.Lock()
	s.cache.active, s.cache.activeAt = v, now
	s.cache.mu.Unlock()
	return v, nil
}

// markSightingsActive is called when a device confirms a sighting on this
// node, so its next check-in here reads it whatever the cache said.
func (a *Authority) markSightingsActive(now time.Time) {
	s := a.intelS
	s.cache.mu.Lock()
	s.cache.active, s.cache.activeAt = true, now
	s.cache.mu.Unlock()
}
