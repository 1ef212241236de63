package antivirus

import (
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		for _, tc := range []struct {
			name  string
			check checks.Check
			dir   string
		}{
			{"antivirus", NewAntivirus(), "antivirus"},
			{"signatures", NewSignatures(), "signatures"},
		} {
			t.Run(goos+"/"+tc.name, func(t *testing.T) {
				seen := checktest.RunSnapshots(t, tc.check, "testdata/"+goos+"/"+tc.dir+"/*.json", checks.Env{})
				for _, st := range []health.Status{health.Pass, health.Fail, health.Unknown} {
					if seen[st] == 0 {
						t.Errorf("no %s case among the %s snapshots", st, goos)
					}
				}
			})
		}
	}
}

func TestIDsAndProbes(t *testing.T) {
	if NewAntivirus().ID() != health.Antivirus || NewSignatures().ID() != health.AntivirusSignatures {
		t.Fatal("wrong check ids")
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		if len(NewAntivirus().Probes(goos)) == 0 {
			t.Errorf("no probes for %s", goos)
		}
	}
	if p := NewAntivirus().Probes("plan9"); p != nil {
		t.Errorf("probes for plan9: %v", p)
	}
}
