package population

import "math"

// The interval audit.
//
// One line of a release is one (table, day, key): the whole-population
// count T and its split by every segment dimension. Its counts form a
// tree: T is the sum of its OS-family cells, of its agent cells and of
// its country cells (three partitions of the root), and each OS-family
// cell is the sum of its OS-release cells (releases nest in their family,
// see ReleaseLabel). What a reader knows of a line is: every published
// count exactly; every withheld count is at least 1 (a listed cell is not
// zero) and, as far as the reader can tell, unbounded above (a cell can
// be withheld to protect another, so being withheld does not say it is
// under K); and every sum. lineRanges computes, from exactly that, the
// least and greatest value each count can take.
//
// On a tree of sums this is exact with two passes. Going up, each node's
// subtree alone allows [lo, hi]: a published node its value, a withheld
// one [1, ∞), intersected, for each partition, with the sum of its
// children's intervals. Going down, a child c in partition P of parent p
// also allows only [R(p).lo − Σ hi(siblings), R(p).hi − Σ lo(siblings)].
// Integer intervals add up to integer intervals and the tree has no
// cycle, so every value in the result is reached by some assignment of
// all the withheld counts consistent with everything published; the
// brute-force test checks this against an exhaustive search.
//
// For the flat case (one partition, m withheld cells with known sum
// known, T's interval from the other partitions) this is the closed form
// [max(1, S.lo − (m−1)·∞), S.hi − (m−1)] with S = T − known: a single
// withheld cell of a partition whose T is pinned by another is pinned
// exactly; two or more are free below and bounded above by S − (m−1).

// unbounded is the upper end of an interval without one.
const unbounded = math.MaxInt64 / 4

// Range is the closed interval [Lo, Hi] of values a count can take; Hi
// is unbounded when nothing published bounds it.
type Range struct{ Lo, Hi int64 }

// Unbounded reports whether nothing bounds r from above.
func (r Range) Unbounded() bool { return r.Hi >= unbounded }

func addSat(a, b int64) int64 {
	if a >= unbounded || b >= unbounded {
		return unbounded
	}
	return min(a+b, unbounded)
}

// auditNode is one count of a line as the audit reads it.
type auditNode struct {
	// N is the count; read only when the node is published.
	N        int64
	Withheld bool
	// Min, when above 1, is the least a withheld count can be for a
	// reason outside its line (a segment's contraindicated count is at
	// least its new infections); Max, when above 0, the most (a failing
	// count is at most its segment's devices).
	Min, Max int64
	// Parent is the index of the node this one is part of (−1 for the
	// root, which must be node 0); Part numbers the partition of the
	// parent it belongs to.
	Parent, Part int
}

// lineRanges returns, for every node of a line, the interval of values
// consistent with everything the line publishes (see above). Nodes must
// be ordered so that a parent comes before its children.
func lineRanges(nodes []auditNode) []Range {
	n := len(nodes)
	// children[i][part] lists the children of node i in each partition.
	children := make([][][]int, n)
	for i := 1; i < n; i++ {
		p, part := nodes[i].Parent, nodes[i].Part
		for len(children[p]) <= part {
			children[p] = append(children[p], nil)
		}
		children[p][part] = append(children[p][part], i)
	}
	down := make([]Range, n)
	for i := n - 1; i >= 0; i-- {
		r := Range{max(1, nodes[i].Min), unbounded}
		if nodes[i].Max > 0 {
			r.Hi = nodes[i].Max
		}
		if !nodes[i].Withheld {
			r = Range{nodes[i].N, nodes[i].N}
		}
		for _, part := range children[i] {
			if len(part) == 0 {
				continue
			}
			var lo, hi int64
			for _, c := range part {
				lo, hi = addSat(lo, down[c].Lo), addSat(hi, down[c].Hi)
			}
			r.Lo, r.Hi = max(r.Lo, lo), min(r.Hi, hi)
		}
		down[i] = r
	}
	out := make([]Range, n)
	if n == 0 {
		return out
	}
	out[0] = down[0]
	for i := 1; i < n; i++ {
		p, part := nodes[i].Parent, nodes[i].Part
		var sibLo, sibHi int64
		for _, s := range children[p][part] {
			if s != i {
				sibLo, sibHi = addSat(sibLo, down[s].Lo), addSat(sibHi, down[s].Hi)
			}
		}
		r := down[i]
		if sibHi < unbounded {
			r.Lo = max(r.Lo, out[p].Lo-sibHi)
		}
		if out[p].Hi < unbounded {
			r.Hi = min(r.Hi, out[p].Hi-sibLo)
		}
		out[i] = r
	}
	return out
}

// lineFloors is what the listing of a line alone implies: the least value
// of each count when every listed count is withheld (a family listed
// under three releases has at least three devices). No disclosure
// control can hide a floor; it must only never raise one.
func lineFloors(nodes []auditNode) []int64 {
	all := make([]auditNode, len(nodes))
	copy(all, nodes)
	for i := range all {
		all[i].Withheld = true
	}
	rs := lineRanges(all)
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.Lo
	}
	return out
}
