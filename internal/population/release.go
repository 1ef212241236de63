package population

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// The release of one complete day.
//
// Every sharing channel (herd export in each format, TAXII, the public
// /population page) shows counts of a day only as protect decides them
// for that day, for all three tables and all segment dimensions at once,
// so no combination of exports and pages says more than the release
// does. protect works on true counts:
//
//  1. Primary suppression: every count from 1 to K−1 is withheld.
//  2. Identities between tables are one count: a segment-day's failing
//     malware count is its contraindicated count (the verdict says
//     contraindicated exactly when malware fails), so the two are
//     published or withheld together.
//  3. A segment-day's contraindicated count bounds the sum of its new
//     infections by family (a new infection is a device turning
//     contraindicated), so whenever one of its infection counts is
//     withheld, its contraindicated (and malware) count is withheld too,
//     and must be unbounded for a reader (step 5): else it is a row total
//     of the infections (contraindicated 12, Emotet 10 → QakBot ≤ 2).
//  4. The whole-population count of a line is published only when no
//     dimension withholds a count of that line.
//  5. The audit: lineRanges gives every count's interval from everything
//     published in its line. A withheld count under K must keep every
//     value from its floor (what its listing alone implies, usually 1) to
//     K−1; a contraindicated count covering withheld infections (step 3)
//     must be unbounded. The bounds between tables enter the lines they
//     bound, as least and greatest values of single counts:
//     a segment's contraindicated count is at least its new infections;
//     a verdict count is at least its segment's failing devices less the
//     most its segment's other verdict counts can be; a verdict count is
//     at most its parent's (the whole population's, or its OS family's)
//     less the failing devices of its siblings not taken by their other
//     verdict counts; a failing count is at most its segment's devices.
//     Where a bound from another table tightens a count beyond its own
//     line (the last two, or devices bounding failing counts further than
//     their own tops), bounds of several counts may act together in ways
//     no single count's bound captures, so that is a gap too, closed by
//     making the bounding devices unbounded (a withheld verdict count
//     opened). Where the audit finds less, complementary suppression
//     withholds more (the smallest published count of the line and
//     dimension that closes the gap, or one that unpins the count above
//     it) and everything is decided again, to a fixpoint.
//
// Within a line the audit is exact (see audit.go). The bounds between
// tables make the day's counts one system with cycles, where per-count
// intervals can say too little; the rules above are what keeps them
// harmless, and an exhaustive search over small random days (the
// brute-force test) checks that no withheld count under K loses a value.
// Segment (row) totals are published only for rows with no withheld
// count, so they repeat published counts; there is no grand total.

// relRef names one count of a line: a dimension and a segment label
// (store.DimNone and "" for the whole population).
type relRef struct {
	dim store.Dimension
	seg string
}

// relNode is one count of a line.
type relNode struct {
	ref          relRef
	n            int64
	withheld     bool
	parent, part int
	// min and max bound a withheld count from outside its line (see
	// auditNode); set by protect each round. floorMin is min as the
	// listing alone implies it.
	min, max, floorMin int64
}

// relLine is one (table, key) of a day.
type relLine struct {
	table store.AggregateKind
	key   string
	nodes []relNode // nodes[0] is the whole population
	index map[relRef]int
}

func (l *relLine) audit() []auditNode {
	out := make([]auditNode, len(l.nodes))
	for i, nd := range l.nodes {
		out[i] = auditNode{N: nd.n, Withheld: nd.withheld, Parent: nd.parent, Part: nd.part, Min: nd.min, Max: nd.max}
	}
	return out
}

// listing is the line as its listing alone shows it: every count
// withheld, bounded only by what the listing of other lines implies.
func (l *relLine) listing() []auditNode {
	out := l.audit()
	for i := range out {
		out[i].Withheld, out[i].Min, out[i].Max = true, l.nodes[i].floorMin, 0
	}
	return out
}

// Dimensions in the order a release lists them; the root partitions of
// a line are os, agent, country (os_version nests under os).
var releaseDims = []store.Dimension{store.DimOS, store.DimOSVersion, store.DimAgent, store.DimCountry}

// dayCounts is one day's true counts as protect reads them.
type dayCounts struct {
	lines []*relLine // ordered by table, then key
}

func (d *dayCounts) line(table store.AggregateKind, key string) *relLine {
	for _, l := range d.lines {
		if l.table == table && l.key == key {
			return l
		}
	}
	return nil
}

// newDayCounts builds a day's lines from the store's finest cells (every
// segment field), relabelled through the label vocabulary (so counts
// stored before it existed are labelled like new ones) and with agent
// versions fewer than k devices reported that day pooled into "other".
func newDayCounts(cells map[store.AggregateKind][]store.AggregateCount, k int64) *dayCounts {
	label := func(s store.Segment) Labels { return SegmentLabels(s.OS, s.OSVersion, s.Agent, s.Country) }
	agents := map[string]int64{}
	for _, c := range cells[store.AggVerdict] {
		agents[label(c.Segment).Agent] += c.Count
	}
	type lineKey struct {
		table store.AggregateKind
		key   string
	}
	type acc struct {
		total int64
		by    map[relRef]int64
	}
	lines := map[lineKey]*acc{}
	for _, table := range []store.AggregateKind{store.AggVerdict, store.AggFailing, store.AggInfection} {
		for _, c := range cells[table] {
			if c.Count <= 0 {
				continue
			}
			lb := label(c.Segment)
			if agents[lb.Agent] < k {
				lb.Agent = Other
			}
			key := c.Key
			if table == store.AggInfection {
				key = FamilyLabel(key)
			}
			lk := lineKey{table, key}
			a := lines[lk]
			if a == nil {
				a = &acc{by: map[relRef]int64{}}
				lines[lk] = a
			}
			a.total += c.Count
			a.by[relRef{store.DimOS, lb.OS}] += c.Count
			a.by[relRef{store.DimOSVersion, lb.OSVersion}] += c.Count
			a.by[relRef{store.DimAgent, lb.Agent}] += c.Count
			a.by[relRef{store.DimCountry, lb.Country}] += c.Count
		}
	}
	keys := make([]lineKey, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	order := map[store.AggregateKind]int{store.AggVerdict: 0, store.AggFailing: 1, store.AggInfection: 2}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].table != keys[j].table {
			return order[keys[i].table] < order[keys[j].table]
		}
		return keys[i].key < keys[j].key
	})
	d := &dayCounts{}
	for _, lk := range keys {
		a := lines[lk]
		d.lines = append(d.lines, buildLine(lk.table, lk.key, a.total, a.by))
	}
	return d
}

// buildLine lays out one line's tree: the root, then OS families (part 0
// of the root) each followed by nothing (their releases come after),
// agents (part 1), countries (part 2), and releases (part 0 of their
// family).
func buildLine(table store.AggregateKind, key string, total int64, by map[relRef]int64) *relLine {
	l := &relLine{table: table, key: key, index: map[relRef]int{}}
	add := func(ref relRef, n int64, parent, part int) {
		l.index[ref] = len(l.nodes)
		l.nodes = append(l.nodes, relNode{ref: ref, n: n, parent: parent, part: part})
	}
	add(relRef{store.DimNone, ""}, total, -1, 0)
	segs := func(dim store.Dimension) []string {
		var out []string
		for r := range by {
			if r.dim == dim {
				out = append(out, r.seg)
			}
		}
		sort.Strings(out)
		return out
	}
	for _, s := range segs(store.DimOS) {
		add(relRef{store.DimOS, s}, by[relRef{store.DimOS, s}], 0, 0)
	}
	for _, s := range segs(store.DimAgent) {
		add(relRef{store.DimAgent, s}, by[relRef{store.DimAgent, s}], 0, 1)
	}
	for _, s := range segs(store.DimCountry) {
		add(relRef{store.DimCountry, s}, by[relRef{store.DimCountry, s}], 0, 2)
	}
	for _, s := range segs(store.DimOSVersion) {
		parent, ok := l.index[relRef{store.DimOS, ReleaseFamily(s)}]
		if !ok {
			// Labels are built so that this cannot happen; a release
			// without its family would be a partition of the root of its
			// own, which the audit handles too.
			add(relRef{store.DimOSVersion, s}, by[relRef{store.DimOSVersion, s}], 0, 3)
			continue
		}
		add(relRef{store.DimOSVersion, s}, by[relRef{store.DimOSVersion, s}], parent, 0)
	}
	return l
}

// errUnprotectable is returned when complementary suppression runs out
// of counts to withhold with a gap still open; the release then fails
// closed (it cannot happen when every count may be withheld, since a
// line with every count withheld keeps every floor and no bound).
var errUnprotectable = errors.New("disclosure control could not protect the day's counts")

// protect decides which counts of d are withheld for minimum count k.
func protect(d *dayCounts, k int64) error {
	for _, l := range d.lines {
		for i := range l.nodes {
			if n := l.nodes[i].n; n > 0 && n < k {
				l.nodes[i].withheld = true
			}
		}
	}
	contra := d.line(store.AggVerdict, string(health.Contraindicated))
	malware := d.line(store.AggFailing, string(health.Malware))
	var infections, verdicts []*relLine
	for _, l := range d.lines {
		switch l.table {
		case store.AggInfection:
			infections = append(infections, l)
		case store.AggVerdict:
			verdicts = append(verdicts, l)
		}
	}
	withhold := func(l *relLine, ref relRef) bool {
		if l == nil {
			return false
		}
		i, ok := l.index[ref]
		if !ok || l.nodes[i].withheld {
			return false
		}
		l.nodes[i].withheld = true
		return true
	}
	// covered lists the refs whose infection row holds a withheld count.
	covered := func() []relRef {
		seen := map[relRef]bool{}
		var out []relRef
		for _, l := range infections {
			for _, nd := range l.nodes {
				if nd.withheld && !seen[nd.ref] {
					seen[nd.ref] = true
					out = append(out, nd.ref)
				}
			}
		}
		sort.Slice(out, func(i, j int) bool { return refLess(out[i], out[j]) })
		return out
	}
	for round := 0; ; round++ {
		if round > 100000 {
			return errUnprotectable
		}
		changed := false
		// Steps 2 to 4 are cheap: repeat them to their fixpoint first.
		for again := true; again; {
			again = false
			if contra != nil && malware != nil {
				for _, pair := range [][2]*relLine{{contra, malware}, {malware, contra}} {
					for _, nd := range pair[0].nodes {
						if nd.withheld && withhold(pair[1], nd.ref) {
							again = true
						}
					}
				}
			}
			for _, ref := range covered() {
				if withhold(contra, ref) || withhold(malware, ref) {
					again = true
				}
			}
			for _, l := range d.lines {
				if l.nodes[0].withheld {
					continue
				}
				for _, nd := range l.nodes[1:] {
					if nd.withheld {
						l.nodes[0].withheld, again = true, true
						break
					}
				}
			}
			changed = changed || again
		}
		// The audit, in the order the bounds between tables flow:
		// infections, then verdicts (contraindicated is at least its
		// infections), then failing counts (malware is contraindicated,
		// and every failing count is at most its segment's devices).
		ranges := map[*relLine][]Range{}
		floors := map[*relLine][]int64{}
		var binding []relRef
		var devicesBound []devicesGap
		audit := func(l *relLine) {
			ranges[l] = lineRanges(l.audit())
			fl := lineRanges(l.listing())
			floors[l] = make([]int64, len(fl))
			for i, r := range fl {
				floors[l][i] = r.Lo
			}
		}
		for _, l := range infections {
			audit(l)
		}
		// A segment with failing devices has at least that many devices:
		// when one verdict count of the segment is withheld, the others
		// published, that count is at least the failing count's least
		// value less the published ones (and, by the listing alone, when
		// it is the segment's only verdict count, at least the failing
		// count's floor). The failing counts' least values here are
		// their lines' own, before the devices bound them from above.
		failLo, failFloor := map[relRef]int64{}, map[relRef]int64{}
		failRanges := map[*relLine][]Range{}
		for _, l := range d.lines {
			// Failing malware is the contraindicated count itself: it says
			// nothing more about its segment's devices.
			if l.table != store.AggFailing || l == malware {
				continue
			}
			an := l.audit()
			for i := range an {
				an[i].Max = 0
			}
			rs := lineRanges(an)
			fl := lineRanges(l.listing())
			failRanges[l] = rs
			for i, nd := range l.nodes {
				failLo[nd.ref] = max(failLo[nd.ref], rs[i].Lo)
				failFloor[nd.ref] = max(failFloor[nd.ref], fl[i].Lo)
			}
		}
		listed := map[relRef]int{}
		for _, v := range verdicts {
			for _, nd := range v.nodes {
				listed[nd.ref]++
			}
		}
		// The contraindicated devices of a segment beyond its new
		// infections, C − ΣI, add up over segments like C and I do, and
		// are at least 1 in a segment with contraindicated devices and no
		// new infection listed: so a count is at least its infections plus
		// the most such segments of one of its partitions (the least the
		// listing allows of that excess).
		var slack []int64
		if contra != nil {
			slack = make([]int64, len(contra.nodes))
			for i := len(contra.nodes) - 1; i >= 0; i-- {
				infected := false
				for _, inf := range infections {
					if _, ok := inf.index[contra.nodes[i].ref]; ok {
						infected = true
					}
				}
				if !infected {
					slack[i] = 1
				}
				for _, part := range contra.parts(i) {
					var sum int64
					for _, c := range contra.children(i, part) {
						sum += slack[c]
					}
					slack[i] = max(slack[i], sum)
				}
			}
		}
		// A verdict count is at least its segment's failing devices less
		// the most the segment's other verdict counts can be; found by
		// rounds, as each round's bounds narrow the next one's.
		for pass := 0; pass < 8; pass++ {
			moved := false
			for _, l := range verdicts {
				for i := range l.nodes {
					nd := &l.nodes[i]
					old := nd.min
					nd.min, nd.floorMin, nd.max = 0, 0, 0
					if l == contra {
						for _, inf := range infections {
							if j, ok := inf.index[nd.ref]; ok {
								nd.min = addSat(nd.min, ranges[inf][j].Lo)
								nd.floorMin = addSat(nd.floorMin, floors[inf][j])
							}
						}
						nd.min = addSat(nd.min, slack[i])
						nd.floorMin = addSat(nd.floorMin, slack[i])
					}
					if nd.withheld && failLo[nd.ref] > 0 {
						// The most the segment's other verdict counts can be.
						var o int64
						for _, u := range verdicts {
							j, ok := u.index[nd.ref]
							switch {
							case !ok || u == l:
							case !u.nodes[j].withheld:
								o = addSat(o, u.nodes[j].n)
							case ranges[u] != nil:
								o = addSat(o, ranges[u][j].Hi)
							default:
								o = unbounded
							}
						}
						if o < unbounded {
							nd.min = max(nd.min, failLo[nd.ref]-o)
						}
					}
					if listed[nd.ref] == 1 {
						nd.floorMin = max(nd.floorMin, failFloor[nd.ref])
					}
					if nd.min != old {
						moved = true
					}
				}
				audit(l)
			}
			if !moved && pass > 0 {
				break
			}
		}
		// And the other way: the failing devices of a segment's siblings
		// are devices too. For a verdict count v(s) of segment s in a
		// partition P of the count p above it (the whole population, or
		// the OS family of a release): the siblings' devices are at least
		// their failing devices, F(p) − F(s), of which the other verdict
		// counts of the siblings take at most U; so v(s) ≤ v(p) − (F(p) −
		// F(s) − U), with F(s) = 0 where s has none. Where that bounds a
		// withheld verdict count below what its line allows, the bound is
		// a gap, closed by making v(p) unbounded.
		hiOf := func(l *relLine, ref relRef) int64 {
			j, ok := l.index[ref]
			switch {
			case !ok:
				return 0
			case !l.nodes[j].withheld:
				return l.nodes[j].n
			}
			return ranges[l][j].Hi
		}
		for _, v := range verdicts {
			set := false
			for i := range v.nodes {
				nd := &v.nodes[i]
				if !nd.withheld || nd.ref.dim == store.DimNone {
					continue
				}
				parents := []relRef{{store.DimNone, ""}}
				if nd.ref.dim == store.DimOSVersion {
					parents = append(parents, parentRef(nd.ref))
				}
				for _, pr := range parents {
					pj, ok := v.index[pr]
					if !ok || ranges[v][pj].Hi >= unbounded {
						continue
					}
					var u int64
					for _, o := range verdicts {
						if o == v {
							continue
						}
						for ref := range o.index {
							if ref.dim == nd.ref.dim && ref != nd.ref && (pr.dim == store.DimNone || parentRef(ref) == pr) {
								u = addSat(u, hiOf(o, ref))
							}
						}
					}
					if u >= unbounded {
						continue
					}
					for f, rs := range failRanges {
						fpj, ok := f.index[pr]
						if !ok {
							continue
						}
						var fs int64
						if sj, ok := f.index[nd.ref]; ok {
							fs = rs[sj].Hi
						}
						if fs >= unbounded {
							continue
						}
						need := rs[fpj].Lo - fs - u
						if need <= 0 {
							continue
						}
						if b := ranges[v][pj].Hi - need; b < ranges[v][i].Hi && (nd.max == 0 || b < nd.max) {
							nd.max, set = max(b, 1), true
						}
					}
				}
				if nd.max > 0 {
					devicesBound = append(devicesBound, devicesGap{v, i})
				}
			}
			if set {
				audit(v)
			}
		}
		for _, l := range d.lines {
			if l.table != store.AggFailing {
				continue
			}
			for i := range l.nodes {
				nd := &l.nodes[i]
				nd.min, nd.floorMin, nd.max = 0, 0, 0
				if l == malware && contra != nil {
					if j, ok := contra.index[nd.ref]; ok {
						nd.min, nd.floorMin = contra.nodes[j].min, contra.nodes[j].floorMin
					}
				}
				var devices int64
				for _, v := range verdicts {
					if j, ok := v.index[nd.ref]; ok {
						devices = addSat(devices, ranges[v][j].Hi)
					}
				}
				if devices < unbounded && l != malware {
					nd.max = devices
				}
			}
			audit(l)
			// A segment's devices bounding a failing count only clip that
			// count's own top (which the audit then checks against K−1).
			// When the bounds reach further, into other counts of the line
			// (a pinned total turns one count's top into another's
			// bottom), they act together, and several segments' devices
			// are bound together in the verdict table (two segments'
			// verdict counts may add up to a published total), which no
			// per-count bound captures. So such bounds are gaps: the
			// segments' devices must be unbounded (an open withheld
			// verdict count).
			free := l.audit()
			for i := range free {
				free[i].Max = 0
			}
			fr := lineRanges(free)
			reach := false
			for i, nd := range l.nodes {
				if r := ranges[l][i]; r != fr[i] && (nd.max == 0 || r.Lo != fr[i].Lo) {
					reach = true
				}
			}
			for i, nd := range l.nodes {
				if reach && nd.max > 0 && fr[i].Hi > nd.max {
					binding = append(binding, nd.ref)
				}
			}
		}
		// Step 5: for each gap, one repair (in each line, for its first
		// gap); then decide again. A gap whose repair lies in another
		// line (a contraindicated count held up by infections pinned in
		// their own line) closes once that line is repaired, so the
		// release fails only when a round finds gaps and repairs none.
		gaps, repaired := 0, 0
		try := func(ok bool) {
			gaps++
			if ok {
				repaired++
			}
		}
		for _, l := range d.lines {
			rs, fl := ranges[l], floors[l]
			for i, nd := range l.nodes {
				if nd.withheld && nd.n < k && (rs[i].Lo > fl[i] || rs[i].Hi < k-1) {
					ok := repairNarrow(l, i, rs, k)
					if !ok {
						// Bounded from outside the line: a failing count by
						// its segments' devices, a verdict count by its
						// segment's failing devices. Open those devices.
						for _, nd := range l.nodes {
							if (nd.max > 0 || l.table == store.AggVerdict && nd.min > 0) && openDevices(verdicts, ranges, nd.ref) {
								ok = true
								break
							}
							if l.table == store.AggVerdict && nd.max > 0 && nd.parent >= 0 && repairOpen(l, nd.parent) {
								ok = true
								break
							}
						}
					}
					try(ok)
					break
				}
			}
		}
		if gaps == 0 {
			for _, ref := range covered() {
				for _, l := range []*relLine{contra, malware} {
					if l == nil {
						continue
					}
					if i, ok := l.index[ref]; ok && !ranges[l][i].Unbounded() {
						try(repairOpen(l, i))
					}
				}
			}
		}
		if gaps == 0 && len(devicesBound) > 0 {
			g := devicesBound[0]
			p := g.l.nodes[g.i].parent
			try(repairOpen(g.l, p))
		}
		if gaps == 0 {
			sort.Slice(binding, func(i, j int) bool { return refLess(binding[i], binding[j]) })
			for i, ref := range binding {
				if i > 0 && binding[i-1] == ref {
					continue
				}
				try(openDevices(verdicts, ranges, ref))
			}
		}
		if gaps == 0 {
			if gap, ok := failingWithinDevices(d, verdicts, ranges, floors, k); gap {
				try(ok)
			}
		}
		if gaps > 0 && repaired == 0 {
			return errUnprotectable
		}
		if gaps == 0 && !changed {
			return nil
		}
	}
}

// devicesGap is a withheld verdict count bounded by its segment's share
// of the failing devices above it.
type devicesGap struct {
	l *relLine
	i int
}

// parentRef is the count a segment's count is part of: its OS family for
// a release, else the whole population (which is its own).
func parentRef(r relRef) relRef {
	switch r.dim {
	case store.DimNone:
		return r
	case store.DimOSVersion:
		if f := ReleaseFamily(r.seg); f != Other || r.seg == Other {
			return relRef{store.DimOS, f}
		}
	}
	return relRef{store.DimNone, ""}
}

func refLess(a, b relRef) bool {
	if a.dim != b.dim {
		return a.dim < b.dim
	}
	return a.seg < b.seg
}

// children lists the nodes of partition part of node p.
func (l *relLine) children(p, part int) []int {
	var out []int
	for i := 1; i < len(l.nodes); i++ {
		if l.nodes[i].parent == p && l.nodes[i].part == part {
			out = append(out, i)
		}
	}
	return out
}

func (l *relLine) parts(p int) []int {
	seen := map[int]bool{}
	var out []int
	for i := 1; i < len(l.nodes); i++ {
		if l.nodes[i].parent == p && !seen[l.nodes[i].part] {
			seen[l.nodes[i].part] = true
			out = append(out, l.nodes[i].part)
		}
	}
	sort.Ints(out)
	return out
}

// smallestPublished withholds the smallest published node among idx
// (ties by label); false when all are withheld.
func (l *relLine) smallestPublished(idx []int) bool {
	best := -1
	for _, i := range idx {
		nd := l.nodes[i]
		if nd.withheld {
			continue
		}
		if best < 0 || nd.n < l.nodes[best].n || nd.n == l.nodes[best].n && nd.ref.seg < l.nodes[best].ref.seg {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	l.nodes[best].withheld = true
	return true
}

// openDown makes node i unbounded from below in the tree (its subtree no
// longer pins it): it withholds i, and in each of its partitions where
// no child is itself open, the smallest published child (or opens a
// withheld child). It reports whether it changed anything.
func (l *relLine) openDown(i int) bool {
	if !l.nodes[i].withheld {
		l.nodes[i].withheld = true
		return true
	}
	for _, part := range l.parts(i) {
		kids := l.children(i, part)
		if l.openChild(kids) {
			continue
		}
		if l.smallestPublished(kids) {
			return true
		}
		for _, c := range kids {
			if l.openDown(c) {
				return true
			}
		}
	}
	return false
}

// openChild reports whether one of kids is withheld with nothing below
// it pinning it (a withheld leaf, or a withheld node with an open child
// in every partition).
func (l *relLine) openChild(kids []int) bool {
	for _, c := range kids {
		if l.isOpen(c) {
			return true
		}
	}
	return false
}

func (l *relLine) isOpen(i int) bool {
	if !l.nodes[i].withheld || l.nodes[i].max > 0 {
		return false
	}
	for _, part := range l.parts(i) {
		if !l.openChild(l.children(i, part)) {
			return false
		}
	}
	return true
}

// repairOpen makes node i unbounded for a reader: open below, and its
// parent (recursively) unbounded too.
func repairOpen(l *relLine, i int) bool {
	if !l.isOpen(i) {
		return l.openDown(i)
	}
	p := l.nodes[i].parent
	if p < 0 {
		return false
	}
	return repairOpen(l, p)
}

// repairNarrow widens the interval of withheld node i, which is under K
// but narrower than its floor to K−1.
func repairNarrow(l *relLine, i int, rs []Range, k int64) bool {
	p := l.nodes[i].parent
	if p < 0 {
		// The root under K has every count of the line under K, all
		// withheld: nothing published can narrow it.
		return l.openDown(i)
	}
	sibs := l.children(p, l.nodes[i].part)
	// A published sibling is what pins or bounds i: withhold the smallest.
	var others []int
	for _, s := range sibs {
		if s != i {
			others = append(others, s)
		}
	}
	if l.smallestPublished(others) {
		return true
	}
	// A withheld sibling pinned by its own parts: open it.
	for _, s := range others {
		if !l.isOpen(s) && l.openDown(s) {
			return true
		}
	}
	// Else the parent's own interval bounds i: widen the parent.
	if !l.nodes[p].withheld {
		l.nodes[p].withheld = true
		return true
	}
	if l.nodes[p].parent < 0 {
		// The root is bounded by another partition: make every partition
		// hold an open count.
		for _, part := range l.parts(p) {
			kids := l.children(p, part)
			if l.openChild(kids) {
				continue
			}
			if l.smallestPublished(kids) {
				return true
			}
			for _, c := range kids {
				if l.openDown(c) {
					return true
				}
			}
		}
		return false
	}
	return repairNarrow(l, p, rs, k) || repairOpen(l, p)
}

// openDevices makes a segment's devices unbounded for a reader: it
// withholds the segment's smallest published verdict count, or opens a
// withheld one.
func openDevices(verdicts []*relLine, ranges map[*relLine][]Range, ref relRef) bool {
	var best *relLine
	bi := -1
	for _, v := range verdicts {
		i, ok := v.index[ref]
		if !ok || v.nodes[i].withheld {
			continue
		}
		if bi < 0 || v.nodes[i].n < best.nodes[bi].n {
			best, bi = v, i
		}
	}
	if bi >= 0 {
		best.nodes[bi].withheld = true
		return true
	}
	for _, v := range verdicts {
		if i, ok := v.index[ref]; ok && !ranges[v][i].Unbounded() && repairOpen(v, i) {
			return true
		}
	}
	return false
}

// failingWithinDevices audits the bound a failing count puts on its
// segment's devices: failing[s, check] ≤ Σ verdict[s, tier]. A published
// failing count (or a withheld one's least value) minus the published
// verdict counts of the segment is what its withheld verdict counts must
// add up to at least; that must leave each of them free down to its
// floor. Where it does not, the smallest published verdict count of the
// segment is withheld too, or a withheld one is opened.
func failingWithinDevices(d *dayCounts, verdicts []*relLine, ranges map[*relLine][]Range, floors map[*relLine][]int64, k int64) (gap, repaired bool) {
	for _, f := range d.lines {
		if f.table != store.AggFailing || f.key == string(health.Malware) {
			continue
		}
		for fi, fn := range f.nodes {
			need := ranges[f][fi].Lo
			type held struct {
				l *relLine
				i int
			}
			var hs []held
			listed := 0
			for _, v := range verdicts {
				i, ok := v.index[fn.ref]
				if !ok {
					continue
				}
				listed++
				if v.nodes[i].withheld {
					hs = append(hs, held{v, i})
				} else {
					need -= v.nodes[i].n
				}
			}
			if need <= 0 || len(hs) == 0 {
				continue
			}
			// The bound binds when the withheld verdict counts' least
			// values do not already add up to it. It bounds their sum, and
			// through their lines (a sum pinned there) their neighbours,
			// which no per-count bound captures: then one of them must be
			// unbounded, to take up the bound alone.
			var sumLo int64
			open := false
			for _, h := range hs {
				sumLo = addSat(sumLo, ranges[h.l][h.i].Lo)
				open = open || ranges[h.l][h.i].Unbounded()
			}
			if need > sumLo && !open {
				return true, openDevices(verdicts, ranges, fn.ref)
			}
			for _, h := range hs {
				if h.l.nodes[h.i].n >= k {
					continue
				}
				room := floors[h.l][h.i]
				if listed == 1 {
					// The segment's only verdict count: the listing alone
					// already says it is at least the failing count's
					// floor.
					room = max(room, floors[f][fi])
				}
				for _, o := range hs {
					if o != h {
						room = addSat(room, ranges[o.l][o.i].Hi)
					}
				}
				if room >= need {
					continue
				}
				// Withhold the smallest published verdict count of the
				// segment, or open another withheld one.
				var best *relLine
				bi := -1
				for _, v := range verdicts {
					i, ok := v.index[fn.ref]
					if !ok || v.nodes[i].withheld {
						continue
					}
					if bi < 0 || v.nodes[i].n < best.nodes[bi].n {
						best, bi = v, i
					}
				}
				if bi >= 0 {
					best.nodes[bi].withheld = true
					return true, true
				}
				for _, o := range hs {
					if o != h && !ranges[o.l][o.i].Unbounded() && repairOpen(o.l, o.i) {
						return true, true
					}
				}
				return true, false
			}
		}
	}
	return false, false
}

// errNotComplete: a day is released only once it is over.
var errNotComplete = errors.New("a day is released only when it is complete")

// dayOf is the UTC day of t.
func dayOf(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// lastCompleteDay is the last day (UTC) that is over at now.
func lastCompleteDay(now time.Time) time.Time { return dayOf(now).AddDate(0, 0, -1) }

func checkComplete(day, now time.Time) error {
	if d := dayOf(day); !d.Before(dayOf(now)) {
		return fmt.Errorf("%w: %s is not over (the last complete day is %s)", errNotComplete, d.Format(time.DateOnly), lastCompleteDay(now).Format(time.DateOnly))
	}
	return nil
}
