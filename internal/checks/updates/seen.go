package updates

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/herd-health/herd/internal/checks"
)

// The agent keeps, in its state directory (checks.Env.State), when each
// pending security update was first seen, so that the age of an update
// grows on a machine that refreshes its package lists every day but never
// installs them, where the lists' own dates stay fresh. Without a state
// (a snapshot) nothing is remembered and the rules of the package comment
// apply alone.

// seenKey is the state key of one package manager's pending updates.
func seenKey(manager string) string { return "pending_updates/" + manager }

// maxSeen bounds how many pending updates are remembered.
const maxSeen = 5000

// seenState is what pending_updates remembers for one package manager.
type seenState struct {
	// Watching is the first reading kept; LastReading the latest. Only
	// readings that listed the pending updates count.
	Watching    time.Time  `json:"watching_since"`
	LastReading time.Time  `json:"last_reading"`
	Pending     []seenItem `json:"pending"`
}

// seenItem is one pending update: a package (name/architecture) and the
// version it would install, or an advisory.
type seenItem struct {
	Key     string `json:"key"`
	Version string `json:"version,omitempty"`
	// FirstSeen is the first reading that listed it.
	FirstSeen time.Time `json:"first_seen"`
	// NotBefore is the reading before that, which did not list it; zero
	// when there was none.
	NotBefore time.Time `json:"not_pending_at,omitzero"`
}

// pendingItem is one pending security update as this reading lists it.
type pendingItem struct {
	Key     string // "openssl/amd64", or an advisory id
	Version string // what it would install; "" for an advisory
}

// stillPendingFunc reports whether a remembered version of a package is
// still not installed (so the package has waited since that version was
// first seen); nil when each key is its own update.
type stillPendingFunc func(key, version string) bool

// remember records this reading's pending updates in state and tells how
// long they have waited: oldest is when the one waiting longest was first
// seen (a lower bound on its age, since it may have waited before herd
// looked), and after is a time at which none of them was pending yet
// (zero when that is not known for every one: an upper bound on the age).
func remember(state checks.State, manager string, now time.Time, items []pendingItem, still stillPendingFunc) (oldest, after time.Time, note string) {
	var st seenState
	if _, err := state.Load(seenKey(manager), &st); err != nil {
		note = "remembered pending updates: " + err.Error() + "; starting afresh"
		st = seenState{}
	}
	if st.LastReading.After(now) {
		// The clock went back: what was remembered cannot be placed.
		note = "remembered pending updates are dated after now; starting afresh"
		st = seenState{}
	}
	prev := map[string][]seenItem{}
	for _, it := range st.Pending {
		prev[it.Key] = append(prev[it.Key], it)
	}
	var next []seenItem
	allBounded := len(items) > 0
	for _, it := range items {
		entry := seenItem{Key: it.Key, Version: it.Version, FirstSeen: now, NotBefore: st.LastReading}
		for _, p := range prev[it.Key] {
			same := p.Version == it.Version
			// A newer fix for a package whose older fix is still not
			// installed: the package has waited since the older one.
			waiting := still != nil && p.Version != "" && still(it.Key, p.Version)
			if (same || waiting) && p.FirstSeen.Before(entry.FirstSeen) {
				entry.FirstSeen, entry.NotBefore = p.FirstSeen, p.NotBefore
			}
		}
		if oldest.IsZero() || entry.FirstSeen.Before(oldest) {
			oldest = entry.FirstSeen
		}
		if entry.NotBefore.IsZero() {
			allBounded = false
		} else if entry.NotBefore.After(after) {
			after = entry.NotBefore
		}
		next = append(next, entry)
	}
	if !allBounded {
		after = time.Time{}
	}
	sort.Slice(next, func(i, j int) bool { return next[i].FirstSeen.Before(next[j].FirstSeen) })
	if len(next) > maxSeen {
		next = next[:maxSeen] // the oldest, which decide
	}
	if st.Watching.IsZero() {
		st.Watching = now
	}
	// The agent re-reads every minute or so: the file is written when
	// what is pending changed, or the last reading kept is old. A last
	// reading older than the real one only makes the upper bound it gives
	// later looser, never wrong.
	if sameItems(st.Pending, next) && !st.LastReading.IsZero() && now.Sub(st.LastReading) < rewriteAfter {
		return oldest, after, note
	}
	st.LastReading, st.Pending = now, next
	if err := state.Store(seenKey(manager), st); errors.Is(err, checks.ErrNoStateDir) {
		// Not enrolled here: nothing to remember in, nothing to tell.
	} else if err != nil {
		note = "remembered pending updates: " + err.Error()
	}
	return oldest, after, note
}

// rewriteAfter is how old the last reading kept may grow before an
// unchanged one is written again.
const rewriteAfter = 15 * time.Minute

func sameItems(a, b []seenItem) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// withMemory adds what the state remembers of the pending updates to b.
func (b *backlog) withMemory(env checks.Env, manager string, now time.Time, items []pendingItem, still stillPendingFunc) {
	if env.State == nil || !b.updatesKnown {
		return
	}
	oldest, after, note := remember(env.State, manager, now, items, still)
	if note != "" {
		b.details = append(b.details, note)
	}
	if len(items) == 0 {
		return
	}
	b.facts["first_seen_pending"] = oldest.UTC().Format(time.RFC3339)
	b.details = append(b.details, "waiting since at least "+oldest.UTC().Format(time.RFC3339)+" (first seen pending on this device)")
	// First seen is a lower bound on the age; an older index date is a
	// lower bound too. The earlier of the two is the better bound.
	if b.since.IsZero() || b.sinceIsBound && oldest.Before(b.since) {
		b.since, b.sinceIsBound = oldest, true
	}
	if !after.IsZero() {
		b.pendingAfter = after
		b.details = append(b.details, fmt.Sprintf("none of them was waiting at %s", after.UTC().Format(time.RFC3339)))
	}
}
