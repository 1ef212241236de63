package sqldb

import (
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// PopState is what a device row holds about the check-in the population
// aggregates count it with.
type PopState struct {
	At      int64 // Unix microseconds of that check-in; 0 for none yet
	Verdict health.Tier
	Segment store.Segment
	Mask    store.FailMask
	// InfectedDay is the day (YYYY-MM-DD) the device last added to the
	// new-infection aggregate; "" for never.
	InfectedDay string
}

// PopDelta is one change to a daily aggregate cell.
type PopDelta struct {
	Kind    store.AggregateKind
	Day     string // YYYY-MM-DD
	Segment store.Segment
	Key     string
	N       int64
}

// PopStep works out how check-in c changes the aggregates, given the
// device's state prev and its enrolled OS (the segment's OS when c names
// none). ok is false when c is older than the check-in prev describes:
// then nothing changes. When ok, the caller stores next in the device
// row, applies deltas, and moves the device from mask prev.Mask (when
// prev.At != 0) to next.Mask in the mask counts.
func PopStep(prev PopState, c store.Checkin, deviceOS string) (next PopState, deltas []PopDelta, ok bool) {
	at := c.ReceivedAt.UnixMicro()
	if prev.At != 0 && at < prev.At {
		return prev, nil, false
	}
	seg := store.Segment{OS: c.OS, OSVersion: c.OSVersion, Agent: c.Agent, Country: c.Country}
	if seg.OS == "" {
		seg.OS = deviceOS
	}
	day := c.ReceivedAt.UTC().Format(time.DateOnly)
	next = PopState{At: at, Verdict: c.Verdict, Segment: seg, Mask: store.FailMaskOf(c.Findings), InfectedDay: prev.InfectedDay}
	if prev.At != 0 && time.UnixMicro(prev.At).UTC().Format(time.DateOnly) == day {
		// Counted already today: take the earlier state out.
		deltas = append(deltas, PopDelta{store.AggVerdict, day, prev.Segment, string(prev.Verdict), -1})
		for _, id := range prev.Mask.Checks() {
			deltas = append(deltas, PopDelta{store.AggFailing, day, prev.Segment, string(id), -1})
		}
	}
	deltas = append(deltas, PopDelta{store.AggVerdict, day, seg, string(c.Verdict), 1})
	for _, id := range next.Mask.Checks() {
		deltas = append(deltas, PopDelta{store.AggFailing, day, seg, string(id), 1})
	}
	// A new infection: the device turns contraindicated. It counts at
	// most once a day (UTC): turning contraindicated again the same day
	// (cured, or its connection back, in between) is the same episode
	// for the incidence the outbreak detectors read; on a later day it
	// counts again, as a new episode.
	if c.Verdict == health.Contraindicated && prev.Verdict != health.Contraindicated && prev.InfectedDay != day {
		next.InfectedDay = day
		fam := c.Family
		if fam == "" {
			fam = store.UnknownFamily
		}
		deltas = append(deltas, PopDelta{store.AggInfection, day, seg, fam, 1})
	}
	return next, deltas, true
}

// TotalDeltas sums deltas (as NetDeltas leaves them) over segments: the
// changes to the whole-population cells, in the order each cell first
// appears, those that cancel out left out. Their Segment is empty.
func TotalDeltas(deltas []PopDelta) []PopDelta {
	type cell struct {
		kind store.AggregateKind
		day  string
		key  string
	}
	idx := map[cell]int{}
	var out []PopDelta
	for _, d := range deltas {
		k := cell{d.Kind, d.Day, d.Key}
		if i, ok := idx[k]; ok {
			out[i].N += d.N
			continue
		}
		idx[k] = len(out)
		out = append(out, PopDelta{Kind: d.Kind, Day: d.Day, Key: d.Key, N: d.N})
	}
	kept := out[:0]
	for _, d := range out {
		if d.N != 0 {
			kept = append(kept, d)
		}
	}
	return kept
}

// DimColumns are the segment columns a dimension groups by, in order.
func DimColumns(d store.Dimension) []string {
	switch d {
	case store.DimOS:
		return []string{"os"}
	case store.DimOSVersion:
		return []string{"os_version"}
	case store.DimAgent:
		return []string{"agent"}
	case store.DimCountry:
		return []string{"country"}
	case store.DimAll:
		return []string{"os", "os_version", "agent", "country"}
	}
	return nil
}

// SetDim stores the values read for dimension d's columns in seg.
func SetDim(d store.Dimension, seg *store.Segment, vals []string) {
	for i, col := range DimColumns(d) {
		switch col {
		case "os":
			seg.OS = vals[i]
		case "os_version":
			seg.OSVersion = vals[i]
		case "agent":
			seg.Agent = vals[i]
		case "country":
			seg.Country = vals[i]
		}
	}
}
