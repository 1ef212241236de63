package all

import (
	"testing"

	"github.com/herd-health/herd/health"
)

func TestEveryCheckOnceInDesignOrder(t *testing.T) {
	list := Checks()
	if len(list) != len(health.CheckIDs) {
		t.Fatalf("%d checks, want %d", len(list), len(health.CheckIDs))
	}
	for i, c := range list {
		if c.ID() != health.CheckIDs[i] {
			t.Errorf("check %d is %s, want %s", i, c.ID(), health.CheckIDs[i])
		}
	}
}

func TestEveryCheckListsProbesOnEveryOS(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		for _, c := range Checks() {
			if len(c.Probes(goos)) == 0 {
				t.Errorf("%s lists no probes on %s", c.ID(), goos)
			}
		}
	}
}
