package intel

import (
	"hash/fnv"
	"slices"
	"strconv"
)

// indicatorKey identifies an indicator as the store does, by type, value
// and port, in 64 bits: two different indicators of one import share a
// key with odds of about n²/2⁶⁵ (10⁻⁸ for a million), which would only
// make a count one lower.
func indicatorKey(in Indicator) uint64 {
	h := fnv.New64a()
	h.Write([]byte(in.Value))
	h.Write([]byte{0})
	h.Write(strconv.AppendUint(nil, uint64(in.Port), 10))
	return h.Sum64()
}

// distinct sorts keys and drops repeats.
func distinct(keys []uint64) []uint64 {
	slices.Sort(keys)
	return slices.Clip(slices.Compact(keys))
}

// Tally counts the distinct indicators of several parses, such as the
// files of one `herd intel import`: an indicator two files list counts
// once. It holds 8 bytes per distinct indicator.
type Tally struct {
	keys map[Type][]uint64 // sorted, distinct
}

// Add counts r's indicators.
func (t *Tally) Add(r Result) {
	if t.keys == nil {
		t.keys = map[Type][]uint64{}
	}
	for typ, k := range r.keys {
		t.keys[typ] = merge(t.keys[typ], k)
	}
}

// Counts is the number of distinct indicators of each type, with every
// type in Types present (0 when none).
func (t *Tally) Counts() map[Type]int {
	out := make(map[Type]int, len(Types))
	for _, typ := range Types {
		out[typ] = 0
	}
	for typ, k := range t.keys {
		out[typ] = len(k)
	}
	return out
}

// merge unites two sorted, distinct lists.
func merge(a, b []uint64) []uint64 {
	if len(a) == 0 {
		return b
	}
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
