package population

import (
	"fmt"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
)

const inf = unbounded

// tnode builds audit nodes compactly: value (negative = withheld, with
// the value's magnitude as the truth), parent, part.
type tnode struct {
	v            int64
	parent, part int
}

func auditNodes(ns []tnode) []auditNode {
	out := make([]auditNode, len(ns))
	for i, n := range ns {
		v, held := n.v, false
		if v < 0 {
			v, held = -v, true
		}
		out[i] = auditNode{N: v, Withheld: held, Parent: n.parent, Part: n.part}
	}
	return out
}

// Hand-worked vectors for lineRanges. Trees are written root first;
// part 0 of the root is OS family, 1 agent, 2 country; an OS family's
// releases are its part 0.
func TestLineRangesVectors(t *testing.T) {
	tests := []struct {
		name  string
		nodes []tnode
		want  []Range
	}{
		{
			// The review's case: linux warning 12 published, darwin
			// withheld, and a single country cell publishes T = 15: darwin
			// is 15 − 12 = 3 exactly.
			name:  "single withheld cell, T derivable from another dimension",
			nodes: []tnode{{-15, -1, 0}, {12, 0, 0}, {-3, 0, 0}, {15, 0, 2}},
			want:  []Range{{15, 15}, {12, 12}, {3, 3}, {15, 15}},
		},
		{
			// Complementary suppression in the same dimension: linux
			// withheld too. S = 15 over two cells: each in [1, 14].
			name:  "two withheld cells, T pinned",
			nodes: []tnode{{-15, -1, 0}, {-12, 0, 0}, {-3, 0, 0}, {15, 0, 2}},
			want:  []Range{{15, 15}, {1, 14}, {1, 14}, {15, 15}},
		},
		{
			// T is withheld in every dimension: nothing bounds darwin.
			name:  "every dimension withholds",
			nodes: []tnode{{-15, -1, 0}, {12, 0, 0}, {-3, 0, 0}, {-12, 0, 1}, {-3, 0, 1}, {-15, 0, 2}},
			want:  []Range{{13, inf}, {12, 12}, {1, inf}, {1, inf}, {1, inf}, {13, inf}},
		},
		{
			// The agent export: 1.0 = 12 published, 0.9 withheld; the OS
			// export publishes every cell (linux 15): 0.9 = 3.
			name:  "across dimensions",
			nodes: []tnode{{-15, -1, 0}, {15, 0, 0}, {12, 0, 1}, {-3, 0, 1}},
			want:  []Range{{15, 15}, {15, 15}, {12, 12}, {3, 3}},
		},
		{
			// Lower bounds from another dimension: T ≥ 102 + 1, so the
			// withheld cell beside a published 100 is at least 3.
			name:  "lower bound from another dimension",
			nodes: []tnode{{-103, -1, 0}, {100, 0, 0}, {-3, 0, 0}, {102, 0, 1}, {-1, 0, 1}},
			want:  []Range{{103, inf}, {100, 100}, {3, inf}, {102, 102}, {1, inf}},
		},
		{
			// A withheld family whose releases are all published is their
			// sum.
			name:  "nested releases pin their family",
			nodes: []tnode{{-40, -1, 0}, {-22, 0, 0}, {18, 0, 0}, {-40, 0, 2}, {12, 1, 0}, {10, 1, 0}},
			want:  []Range{{40, 40}, {22, 22}, {18, 18}, {40, 40}, {12, 12}, {10, 10}},
		},
		{
			// One withheld release of a published family is pinned too.
			name:  "a family's single withheld release",
			nodes: []tnode{{-40, -1, 0}, {22, 0, 0}, {18, 0, 0}, {-40, 0, 2}, {-2, 1, 0}, {20, 1, 0}},
			want:  []Range{{40, 40}, {22, 22}, {18, 18}, {40, 40}, {2, 2}, {20, 20}},
		},
		{
			// Listing alone: three withheld OS families make T at least 3.
			name:  "floors from the listing",
			nodes: []tnode{{-5, -1, 0}, {-1, 0, 0}, {-2, 0, 0}, {-2, 0, 0}, {-5, 0, 2}},
			want:  []Range{{3, inf}, {1, inf}, {1, inf}, {1, inf}, {3, inf}},
		},
		{
			name:  "everything published",
			nodes: []tnode{{30, -1, 0}, {10, 0, 0}, {20, 0, 0}, {30, 0, 2}},
			want:  []Range{{30, 30}, {10, 10}, {20, 20}, {30, 30}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := lineRanges(auditNodes(tc.nodes))
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("node %d: %v, want %v (all %v)", i, got[i], tc.want[i], got)
				}
			}
		})
	}
	// Floors: the least values when everything is withheld.
	fl := lineFloors(auditNodes([]tnode{{-40, -1, 0}, {-22, 0, 0}, {18, 0, 0}, {-40, 0, 2}, {12, 1, 0}, {10, 1, 0}, {3, 1, 0}}))
	if want := []int64{4, 3, 1, 4, 1, 1, 1}; fmt.Sprint(fl) != fmt.Sprint(want) {
		t.Errorf("floors %v, want %v", fl, want)
	}
}

// day is a compact day of true counts for protect: for each table,
// key → OS family/release/agent/country → count.
type dayCell struct {
	table                   store.AggregateKind
	key, os, rel, agent, cc string
	n                       int64
}

func cellsOf(cs []dayCell) map[store.AggregateKind][]store.AggregateCount {
	out := map[store.AggregateKind][]store.AggregateCount{}
	for _, c := range cs {
		out[c.table] = append(out[c.table], store.AggregateCount{Segment: store.Segment{OS: c.os, OSVersion: c.rel, Agent: c.agent, Country: c.cc}, Key: c.key, Count: c.n})
	}
	return out
}

// released finds a count of a release: "table key dim seg".
func released(rel *DayRelease, table store.AggregateKind, key string, dim store.Dimension, seg string) (v int64, withheld, ok bool) {
	t := rel.Table(table)
	if t == nil {
		return 0, false, false
	}
	for _, c := range t.Counts {
		if c.Key == key && c.Dimension == dim && c.Segment == seg {
			if c.Value == nil {
				return 0, true, true
			}
			return *c.Value, false, true
		}
	}
	return 0, false, false
}

// The review's leaks, each as a day of true counts, and what the release
// must then withhold.
func TestProtectClosesTheReviewedLeaks(t *testing.T) {
	V, F, I := store.AggVerdict, store.AggFailing, store.AggInfection
	contra, malware := string(health.Contraindicated), string(health.Malware)
	type want struct {
		table    store.AggregateKind
		key      string
		dim      store.Dimension
		seg      string
		withheld bool
	}
	tests := []struct {
		name  string
		k     int64
		cells []dayCell
		want  []want
	}{
		{
			// Problem 1: failing malware is contraindicated. linux 10
			// contraindicated published and the whole population's
			// "signs of infection" 11 published would give darwin 1.
			name: "failing malware is contraindicated",
			k:    10,
			cells: []dayCell{
				{V, contra, "linux", "debian 12", "1.0", "", 10}, {V, contra, "darwin", "macos 15", "1.0", "", 1},
				{F, malware, "linux", "debian 12", "1.0", "", 10}, {F, malware, "darwin", "macos 15", "1.0", "", 1},
				{V, "affirming", "linux", "debian 12", "1.0", "", 40},
			},
			want: []want{
				{V, contra, store.DimOS, "darwin", true}, {F, malware, store.DimOS, "darwin", true},
				{V, contra, store.DimNone, "", true}, {F, malware, store.DimNone, "", true},
				// The single agent and country cells publish the whole
				// population (11), so darwin's 1 is protected by
				// withholding linux's 10 beside it.
				{V, contra, store.DimOS, "linux", true}, {F, malware, store.DimOS, "linux", true},
				{V, contra, store.DimAgent, "1.0", false},
				{V, "affirming", store.DimNone, "", false},
			},
		},
		{
			// Problem 3: contraindicated 12 is the total of the linux
			// infections row: Emotet 10 published, QakBot withheld.
			name: "contraindicated covers a withheld infection",
			k:    10,
			cells: []dayCell{
				{V, contra, "linux", "debian 12", "1.0", "NL", 12}, {F, malware, "linux", "debian 12", "1.0", "NL", 12},
				{V, contra, "windows", "windows 26100", "1.0", "NL", 30}, {F, malware, "windows", "windows 26100", "1.0", "NL", 30},
				{I, "Emotet", "linux", "debian 12", "1.0", "NL", 10}, {I, "QakBot", "linux", "debian 12", "1.0", "NL", 2},
				{I, "Emotet", "windows", "windows 26100", "1.0", "NL", 30},
				{V, "affirming", "linux", "debian 12", "1.0", "NL", 50},
			},
			want: []want{
				{I, "QakBot", store.DimOS, "linux", true},
				{V, contra, store.DimOS, "linux", true}, {F, malware, store.DimOS, "linux", true},
				{V, contra, store.DimNone, "", true},
				{V, "affirming", store.DimOS, "linux", false},
			},
		},
		{
			// Problem 4: the OS export has linux warning 15, all
			// published; the agent export has 1.0 = 12 and 0.9 withheld.
			name: "across dimensions",
			k:    10,
			cells: []dayCell{
				{V, "warning", "linux", "debian 12", "1.0", "", 12}, {V, "warning", "linux", "debian 12", "0.9", "", 3},
				{V, "affirming", "linux", "debian 12", "1.0", "", 40}, {V, "affirming", "windows", "windows 26100", "1.0", "", 40},
				{V, "affirming", "linux", "debian 12", "0.9", "", 10},
				{V, "warning", "windows", "windows 26100", "1.0", "", 30},
			},
			want: []want{
				{V, "warning", store.DimAgent, "0.9", true}, {V, "warning", store.DimNone, "", true},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rel, err := releaseDay("2026-12-03", cellsOf(tc.cells), releaseRecord{MinCount: tc.k})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				_, held, ok := released(rel, w.table, w.key, w.dim, w.seg)
				if !ok || held != w.withheld {
					t.Errorf("%s %s %s %q: listed %v, withheld %v; want withheld %v", w.table, w.key, w.dim, w.seg, ok, held, w.withheld)
				}
			}
			// And in every case the audit holds over everything released.
			checkReleaseAudit(t, rel, tc.cells, tc.k)
		})
	}
}
