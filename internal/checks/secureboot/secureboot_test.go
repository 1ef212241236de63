package secureboot

import (
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	checktest.SnapshotsAllOS(t, New(), checks.Env{}, health.NotApplicable)
}

func TestEvidenceTrust(t *testing.T) {
	// Firmware variables read from efivarfs come through the kernel, not
	// a hardware attestation: reported by the operating system.
	c := checktest.Load(t, "testdata/linux/efivars-enabled-user-mode.json")[0]
	r := checktest.Run(New(), c.Snapshot, checks.Env{})
	if r.Evidence.Trust != health.OSReported {
		t.Errorf("trust = %s, want %s", r.Evidence.Trust, health.OSReported)
	}
	if r.Evidence.Facts["secure_boot"] != true || r.Evidence.Facts["setup_mode"] != false {
		t.Errorf("facts = %v", r.Evidence.Facts)
	}
}

func TestProbes(t *testing.T) {
	checktest.ProbesAllOS(t, New())
	if New().ID() != health.SecureBoot {
		t.Errorf("ID = %s", New().ID())
	}
}
