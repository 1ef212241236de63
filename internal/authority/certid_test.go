package authority

import (
	"sort"
	"testing"
	"time"
)

// Certificate ids sort by issue time as strings, are unique and the same
// length at every time.
func TestCertificateIDsSortByTime(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := range 2000 {
		id := certificateID(t0.Add(time.Duration(i/4) * time.Millisecond))
		if len(id) != 26 {
			t.Fatalf("id %q has %d characters, want 26", id, len(id))
		}
		if seen[id] {
			t.Fatalf("id %q issued twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	for i := 4; i < len(ids); i++ {
		if ids[i-4] >= ids[i] {
			t.Fatalf("id %q (issued later) does not sort after %q", ids[i], ids[i-4])
		}
	}
	if !sort.StringsAreSorted([]string{certificateID(t0), certificateID(t0.Add(time.Millisecond)), certificateID(t0.Add(24 * time.Hour * 365))}) {
		t.Error("ids a millisecond and a year apart do not sort by time")
	}
}
