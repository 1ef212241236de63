package antivirus

import (
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	t.Run("antivirus", func(t *testing.T) {
		checktest.SnapshotsAllOSPattern(t, NewAntivirus(), "antivirus/*.json", checks.Env{})
	})
	t.Run("signatures", func(t *testing.T) {
		checktest.SnapshotsAllOSPattern(t, NewSignatures(), "signatures/*.json", checks.Env{})
	})
}

func TestIDsAndProbes(t *testing.T) {
	if NewAntivirus().ID() != health.Antivirus || NewSignatures().ID() != health.AntivirusSignatures {
		t.Fatal("wrong check ids")
	}
	checktest.ProbesAllOS(t, NewAntivirus())
	checktest.ProbesAllOS(t, NewSignatures())
	if p := NewAntivirus().Probes("plan9"); p != nil {
		t.Errorf("probes for plan9: %v", p)
	}
}
