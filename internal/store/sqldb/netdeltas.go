package sqldb

// NetDeltas sums the deltas of each cell and drops the cells whose sum is
// zero, keeping the order in which cells first appear. A device counted
// again on the same day in the same state takes itself out and puts itself
// back in the same cells: nothing to write. deltas is reused.
func NetDeltas(deltas []PopDelta) []PopDelta {
	out := deltas[:0]
	for _, d := range deltas {
		merged := false
		for i := range out {
			o := &out[i]
			if o.Kind == d.Kind && o.Day == d.Day && o.Segment == d.Segment && o.Key == d.Key {
				o.N += d.N
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, d)
		}
	}
	kept := out[:0]
	for _, d := range out {
		if d.N != 0 {
			kept = append(kept, d)
		}
	}
	return kept
}
