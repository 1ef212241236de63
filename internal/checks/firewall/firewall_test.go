package firewall

import (
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
)

func TestSnapshots(t *testing.T) {
	checktest.SnapshotsAllOS(t, New(), checks.Env{})
}

func TestProbes(t *testing.T) {
	checktest.ProbesAllOS(t, New())
	if New().ID() != health.Firewall {
		t.Errorf("ID = %s", New().ID())
	}
}
