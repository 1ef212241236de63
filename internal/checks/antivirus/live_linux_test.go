//go:build linux

package antivirus

import (
	"context"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
	"github.com/herd-health/herd/internal/source"
)

// TestLiveLinux runs both checks on this machine. Whatever it has
// installed, the results must be well formed, and antivirus_signatures
// must not claim an engine antivirus did not find.
func TestLiveLinux(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := source.NewLive()
	av := NewAntivirus().Run(ctx, src, checks.Env{})
	sig := NewSignatures().Run(ctx, src, checks.Env{})
	checktest.AssertWellFormed(t, health.Antivirus, av)
	checktest.AssertWellFormed(t, health.AntivirusSignatures, sig)
	t.Logf("antivirus: %s: %s %v", av.Status, av.Reason.En, av.Details)
	t.Logf("antivirus_signatures: %s: %s", sig.Status, sig.Reason.En)
	if len(av.Details) == 0 {
		t.Error("antivirus gave no details of what it looked at")
	}
	if av.Status == health.Unknown && sig.Status == health.Pass {
		t.Error("signatures pass while no antivirus could be confirmed")
	}
}
