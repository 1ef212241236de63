package population

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

// The exhaustive disclosure check: it reads only what a release
// publishes (every channel shows a subset of it: every dimension's
// counts, the whole population, the row totals) plus what any reader
// knows about how the counts hang together, and searches every integer
// assignment of the withheld counts consistent with all of it:
//
//   - in each line, each dimension's segments add up to the whole
//     population, and each OS family's releases to the family;
//   - a published row total is the sum of its row;
//   - a segment's failing malware count is its contraindicated count;
//   - a segment's new infections add up to at most its contraindicated
//     count, and a failing count is at most its segment's devices;
//   - a withheld count is at least 1.
//
// Every withheld count whose true value is under K must then be able to
// take every value from its floor (the least the listing alone allows,
// found by the same kind of search with every count unknown) to K−1.
// The search is a plain depth-first search with bounds propagation; it
// shares no code with lineRanges or protect.

type lin struct {
	vars  []int
	coefs []int64
	c     int64 // Σ coef·x + c  (= 0 or ≤ 0)
	le    bool
}

type csp struct {
	lo, hi []int64
	cons   []lin
	names  []string
}

func (p *csp) variable(name string, lo, hi int64) int {
	p.lo, p.hi, p.names = append(p.lo, lo), append(p.hi, hi), append(p.names, name)
	return len(p.lo) - 1
}

// propagate narrows lo/hi to bounds consistency; false when empty.
func (p *csp) propagate(lo, hi []int64) bool {
	for changed := true; changed; {
		changed = false
		for _, c := range p.cons {
			// min and max of Σ coef·x + c.
			var mn, mx int64 = c.c, c.c
			for i, v := range c.vars {
				if a := c.coefs[i]; a > 0 {
					mn, mx = mn+a*lo[v], mx+a*hi[v]
				} else {
					mn, mx = mn+a*hi[v], mx+a*lo[v]
				}
			}
			if mn > 0 || (!c.le && mx < 0) {
				return false
			}
			for i, v := range c.vars {
				a := c.coefs[i]
				// rest = Σ others + c, in [mn − own_min, mx − own_max].
				var ownMin, ownMax int64
				if a > 0 {
					ownMin, ownMax = a*lo[v], a*hi[v]
				} else {
					ownMin, ownMax = a*hi[v], a*lo[v]
				}
				restMin, restMax := mn-ownMin, mx-ownMax
				// need a·x ≤ −restMin, and (equality) a·x ≥ −restMax.
				if a > 0 {
					if nh := floorDiv(-restMin, a); nh < hi[v] {
						hi[v], changed = nh, true
					}
					if !c.le {
						if nl := ceilDiv(-restMax, a); nl > lo[v] {
							lo[v], changed = nl, true
						}
					}
				} else {
					if nl := ceilDiv(-restMin, a); nl > lo[v] {
						lo[v], changed = nl, true
					}
					if !c.le {
						if nh := floorDiv(-restMax, a); nh < hi[v] {
							hi[v], changed = nh, true
						}
					}
				}
				if lo[v] > hi[v] {
					return false
				}
			}
		}
	}
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// solve reports whether an assignment exists within lo/hi; truth orders
// the values tried. budget bounds the nodes searched.
func (p *csp) solve(lo, hi []int64, truth []int64, budget *int) (bool, bool) {
	if *budget <= 0 {
		return false, false
	}
	*budget--
	if !p.propagate(lo, hi) {
		return false, true
	}
	best := -1
	for v := range lo {
		if lo[v] < hi[v] && (best < 0 || hi[v]-lo[v] < hi[best]-lo[best]) {
			best = v
		}
	}
	if best < 0 {
		return true, true
	}
	// Try the truth's side first, then everything else.
	vals := make([]int64, 0, hi[best]-lo[best]+1)
	t := min(max(truth[best], lo[best]), hi[best])
	for d := int64(0); t-d >= lo[best] || t+d <= hi[best]; d++ {
		if t-d >= lo[best] {
			vals = append(vals, t-d)
		}
		if d > 0 && t+d <= hi[best] {
			vals = append(vals, t+d)
		}
	}
	for _, x := range vals {
		l2, h2 := append([]int64(nil), lo...), append([]int64(nil), hi...)
		l2[best], h2[best] = x, x
		ok, done := p.solve(l2, h2, truth, budget)
		if ok || !done {
			return ok, done
		}
	}
	return false, true
}

// cref names one count of a release.
type cref struct {
	table    store.AggregateKind
	key, seg string
	dim      store.Dimension
}

// checkReleaseAudit runs the exhaustive check on rel, whose true counts
// are the cells (labels as protect saw them: no pooling happens in the
// days the tests build, except where a test checks for it).
func checkReleaseAudit(t *testing.T, rel *DayRelease, cells []dayCell, k int64) {
	t.Helper()
	truth := map[cref]int64{}
	for _, c := range cells {
		lb := SegmentLabels(c.os, c.rel, c.agent, c.cc)
		key := c.key
		for _, r := range []cref{{c.table, key, "", store.DimNone}, {c.table, key, lb.OS, store.DimOS}, {c.table, key, lb.OSVersion, store.DimOSVersion},
			{c.table, key, lb.Agent, store.DimAgent}, {c.table, key, lb.Country, store.DimCountry}} {
			truth[r] += c.n
		}
	}
	// The pooled agent labels of the release replace the true ones: read
	// the agent dimension's truth from the release's listing instead
	// when they differ (tests without pooling keep them equal).
	pub := map[cref]int64{}
	held := map[cref]bool{}
	for _, tb := range rel.Tables {
		for _, c := range tb.Counts {
			r := cref{tb.Name, c.Key, c.Segment, c.Dimension}
			if _, ok := truth[r]; !ok {
				t.Fatalf("release lists %v, which the true counts do not have", r)
			}
			if c.Value == nil {
				held[r] = true
			} else {
				pub[r] = *c.Value
				if *c.Value != truth[r] {
					t.Fatalf("release publishes %v = %d, true %d", r, *c.Value, truth[r])
				}
				if *c.Value < k {
					t.Fatalf("release publishes %v = %d under K %d", r, *c.Value, k)
				}
			}
		}
	}
	for r := range truth {
		if _, ok := pub[r]; !ok && !held[r] {
			t.Fatalf("release leaves out %v (true %d)", r, truth[r])
		}
	}
	build := func(listingOnly bool, bound int64) (*csp, map[cref]int, []int64) {
		p := &csp{}
		vars := map[cref]int{}
		var tv []int64
		contra, malware := string(health.Contraindicated), string(health.Malware)
		// term returns (variable, constant) for a count; merged identity.
		var term func(r cref) (int, int64)
		term = func(r cref) (int, int64) {
			if r.table == store.AggFailing && r.key == malware {
				if _, ok := truth[cref{store.AggVerdict, contra, r.seg, r.dim}]; ok {
					return term(cref{store.AggVerdict, contra, r.seg, r.dim})
				}
			}
			if _, ok := truth[r]; !ok {
				return -1, 0
			}
			if v, ok := pub[r]; ok && !listingOnly {
				return -1, v
			}
			if i, ok := vars[r]; ok {
				return i, 0
			}
			i := p.variable(fmt.Sprint(r), 1, bound)
			vars[r] = i
			tv = append(tv, truth[r])
			return i, 0
		}
		addLin := func(plus, minus []cref, konst int64, le bool) {
			c := lin{le: le, c: konst}
			coef := map[int]int64{}
			for _, r := range plus {
				if v, k := term(r); v >= 0 {
					coef[v]++
				} else {
					c.c += k
				}
			}
			for _, r := range minus {
				if v, k := term(r); v >= 0 {
					coef[v]--
				} else {
					c.c -= k
				}
			}
			var vs []int
			for v, a := range coef {
				if a != 0 {
					vs = append(vs, v)
				}
			}
			sort.Ints(vs)
			for _, v := range vs {
				c.vars, c.coefs = append(c.vars, v), append(c.coefs, coef[v])
			}
			if len(c.vars) == 0 {
				if c.c > 0 || (!le && c.c != 0) {
					t.Fatalf("published counts contradict each other: %v − %v", plus, minus)
				}
				return
			}
			p.cons = append(p.cons, c)
		}
		lines := map[[2]string]bool{}
		segs := map[cref][]string{} // (table, key, dim) → segments
		for r := range truth {
			lines[[2]string{string(r.table), r.key}] = true
			if r.dim != store.DimNone {
				k := cref{r.table, r.key, "", r.dim}
				segs[k] = append(segs[k], r.seg)
			}
		}
		for ln := range lines {
			table, key := store.AggregateKind(ln[0]), ln[1]
			root := cref{table, key, "", store.DimNone}
			for _, dim := range []store.Dimension{store.DimOS, store.DimAgent, store.DimCountry} {
				var parts []cref
				for _, s := range segs[cref{table, key, "", dim}] {
					parts = append(parts, cref{table, key, s, dim})
				}
				addLin(parts, []cref{root}, 0, false)
			}
			fam := map[string][]cref{}
			for _, s := range segs[cref{table, key, "", store.DimOSVersion}] {
				fam[ReleaseFamily(s)] = append(fam[ReleaseFamily(s)], cref{table, key, s, store.DimOSVersion})
			}
			for f, parts := range fam {
				addLin(parts, []cref{{table, key, f, store.DimOS}}, 0, false)
			}
		}
		if !listingOnly {
			for _, tb := range rel.Tables {
				for _, rt := range tb.RowTotals {
					if rt.Value == nil {
						continue
					}
					var parts []cref
					for r := range truth {
						if r.table == tb.Name && r.dim == rt.Dimension && r.seg == rt.Segment {
							parts = append(parts, r)
						}
					}
					addLin(parts, nil, -*rt.Value, false)
				}
			}
		}
		// Inequalities, per segment (and the whole population).
		refs := map[cref]bool{}
		for r := range truth {
			refs[cref{"", "", r.seg, r.dim}] = true
		}
		for s := range refs {
			var inf, verdict []cref
			for r := range truth {
				if r.seg != s.seg || r.dim != s.dim {
					continue
				}
				switch r.table {
				case store.AggInfection:
					inf = append(inf, r)
				case store.AggVerdict:
					verdict = append(verdict, r)
				}
			}
			c := cref{store.AggVerdict, contra, s.seg, s.dim}
			if len(inf) > 0 {
				if _, ok := truth[c]; ok {
					addLin(inf, []cref{c}, 0, true)
				} else {
					t.Fatalf("infections at %v without contraindicated devices", s)
				}
			}
			for r := range truth {
				if r.table == store.AggFailing && r.seg == s.seg && r.dim == s.dim {
					addLin([]cref{r}, verdict, 0, true)
				}
			}
		}
		return p, vars, tv
	}
	var maxTrue int64
	for _, v := range truth {
		maxTrue = max(maxTrue, v)
	}
	bound := 3*maxTrue + 3*k
	p, vars, tv := build(false, bound)
	// The truth is one of the assignments.
	lo, hi := append([]int64(nil), tv...), append([]int64(nil), tv...)
	if !p.propagate(lo, hi) {
		t.Fatalf("the true counts do not satisfy the constraints")
	}
	// Floors from the listing alone: the least value each count takes
	// in some assignment when nothing is published, found by search from
	// the propagated lower bound up (propagation alone can say too little
	// where the bounds between tables act together).
	lp, lvars, ltv := build(true, bound)
	llo, lhi := append([]int64(nil), lp.lo...), append([]int64(nil), lp.hi...)
	lp.propagate(llo, lhi)
	floorOf := func(v int) int64 {
		for x := llo[v]; x <= lhi[v]; x++ {
			lo, hi := append([]int64(nil), llo...), append([]int64(nil), lhi...)
			lo[v], hi[v] = x, x
			budget := 200000
			ok, done := lp.solve(lo, hi, ltv, &budget)
			if !done {
				t.Fatalf("search budget exhausted for the floor of %s at %d", lp.names[v], x)
			}
			if ok {
				return x
			}
		}
		t.Fatalf("no assignment of the listing at all for %s", lp.names[v])
		return 0
	}
	names := make([]cref, 0, len(vars))
	for r := range vars {
		names = append(names, r)
	}
	sort.Slice(names, func(i, j int) bool { return fmt.Sprint(names[i]) < fmt.Sprint(names[j]) })
	for _, r := range names {
		v := vars[r]
		if truth[r] >= k {
			continue
		}
		floor := floorOf(lvars[r])
		for x := floor; x <= k-1; x++ {
			lo, hi := append([]int64(nil), p.lo...), append([]int64(nil), p.hi...)
			lo[v], hi[v] = x, x
			budget := 200000
			ok, done := p.solve(lo, hi, tv, &budget)
			if !done {
				t.Fatalf("search budget exhausted for %v = %d", r, x)
			}
			if !ok {
				t.Errorf("withheld %v (true %d, K %d) cannot be %d given what is published (floor %d)", r, truth[r], k, x, floor)
			}
		}
	}
}

// randomDay draws a small day of devices whose counts obey every
// identity and bound the check assumes.
func randomDay(r *rand.Rand, k int64) []dayCell {
	type dev struct {
		os, rel, agent, cc, verdict, family string
		failing                             []string
	}
	n := 1 + r.IntN(int(6*k))
	rels := map[string][]string{"linux": {"debian 12", "ubuntu 24.04"}, "darwin": {"macos 15"}, "windows": {"windows 26100"}}
	oses := []string{"linux", "darwin", "windows"}[:1+r.IntN(3)]
	agents := []string{"1.0", "1.1", "1.2"}[:1+r.IntN(3)]
	countries := []string{"", "NL", "DE"}[:1+r.IntN(3)]
	// Skewed days: one segment of each dimension holds most devices, so
	// some counts are published beside small ones.
	pick := func(xs []string) string {
		if r.IntN(3) > 0 {
			return xs[0]
		}
		return xs[r.IntN(len(xs))]
	}
	byKey := map[dayCell]int64{}
	for range n {
		os := pick(oses)
		d := dev{os: os, rel: pick(rels[os]), agent: pick(agents), cc: pick(countries)}
		switch x := r.IntN(10); {
		case x < 4:
			d.verdict = "affirming"
			if r.IntN(3) == 0 {
				d.failing = []string{string(health.SecureBoot)}
			}
		case x < 7:
			d.verdict = "warning"
			d.failing = []string{string(health.Firewall)}
			if r.IntN(3) == 0 {
				d.failing = append(d.failing, string(health.ScreenLock))
			}
		case x < 8 && r.IntN(4) == 0:
			d.verdict = "none"
		default:
			d.verdict = "contraindicated"
			d.failing = []string{string(health.Malware)}
			if f := r.IntN(3); f > 0 {
				d.family = []string{"", "Emotet", "QakBot"}[f]
			}
		}
		add := func(table store.AggregateKind, key string) {
			byKey[dayCell{table: table, key: key, os: d.os, rel: d.rel, agent: d.agent, cc: d.cc}]++
		}
		add(store.AggVerdict, d.verdict)
		for _, f := range d.failing {
			add(store.AggFailing, f)
		}
		if d.family != "" {
			add(store.AggInfection, d.family)
		}
	}
	var out []dayCell
	for c, n := range byKey {
		c.n = n
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// For small random days, every withheld count under K keeps every value
// from its floor to K−1, whatever every channel publishes.
func TestReleaseBruteForce(t *testing.T) {
	seed := uint64(2026)
	if v, err := strconv.ParseUint(os.Getenv("HERD_BRUTE_SEED"), 10, 64); err == nil {
		seed = v
	}
	r := rand.New(rand.NewPCG(seed, 12))
	runs := 300
	if v, err := strconv.Atoi(os.Getenv("HERD_BRUTE_RUNS")); err == nil {
		runs = v
	}
	if testing.Short() {
		runs = 60
	}
	for i := range runs {
		k := int64(3 + r.IntN(3))
		cells := randomDay(r, k)
		// Agents under K are pooled: keep the test's labels equal to the
		// release's by giving every agent at least K devices or one agent.
		agents := map[string]int64{}
		for _, c := range cells {
			if c.table == store.AggVerdict {
				agents[c.agent] += c.n
			}
		}
		for j := range cells {
			if agents[cells[j].agent] < k {
				cells[j].agent = Other
			}
		}
		t.Run(fmt.Sprintf("day %d K %d", i, k), func(t *testing.T) {
			rel, err := releaseDay("2026-12-03", cellsOf(cells), releaseRecord{MinCount: k})
			if err != nil {
				t.Fatal(err)
			}
			checkReleaseAudit(t, rel, cells, k)
		})
	}
}

// Every node releases a day the same way: the release depends on the
// day's counts alone, not on the order the store returns them in or on
// map order.
func TestReleaseIsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(99, 1))
	for i := range 200 {
		k := int64(3 + r.IntN(3))
		cells := randomDay(r, k)
		first, err := releaseDay("2026-12-03", cellsOf(cells), releaseRecord{MinCount: k})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(first)
		for range 3 {
			shuffled := append([]dayCell(nil), cells...)
			r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			again, err := releaseDay("2026-12-03", cellsOf(shuffled), releaseRecord{MinCount: k})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := json.Marshal(again); string(got) != string(want) {
				t.Fatalf("day %d: two releases of the same counts differ:\n%s\n%s", i, want, got)
			}
		}
	}
}
