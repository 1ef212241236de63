package secureboot

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
			for _, st := range []health.Status{health.Pass, health.Fail, health.Unknown, health.NotApplicable} {
				if seen[st] == 0 {
					t.Errorf("no %s case for %s", st, goos)
				}
			}
		})
	}
}

func TestEvidenceTrust(t *testing.T) {
	// Firmware variables read from efivarfs are hardware backed.
	c := checktest.Load(t, "testdata/linux/efivars-enabled-user-mode.json")[0]
	r := checktest.Run(New(), c.Snapshot, checks.Env{})
	if r.Evidence.Trust != health.HardwareBacked {
		t.Errorf("trust = %s, want %s", r.Evidence.Trust, health.HardwareBacked)
	}
	if r.Evidence.Facts["secure_boot"] != true || r.Evidence.Facts["setup_mode"] != false {
		t.Errorf("facts = %v", r.Evidence.Facts)
	}
}

func TestProbes(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		if len(New().Probes(goos)) == 0 {
			t.Errorf("no probes for %s", goos)
		}
	}
	if New().ID() != health.SecureBoot {
		t.Errorf("ID = %s", New().ID())
	}
}
