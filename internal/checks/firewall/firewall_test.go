package firewall

import (
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			seen := checktest.RunSnapshots(t, New(), "testdata/"+goos+"/*.json", checks.Env{})
			for _, st := range []health.Status{health.Pass, health.Fail, health.Unknown} {
				if seen[st] == 0 {
					t.Errorf("no %s case for %s", st, goos)
				}
			}
		})
	}
}

func TestProbes(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		if len(New().Probes(goos)) == 0 {
			t.Errorf("no probes for %s", goos)
		}
	}
	if New().ID() != health.Firewall {
		t.Errorf("ID = %s", New().ID())
	}
}
