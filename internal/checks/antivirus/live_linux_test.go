//go:build linux

package antivirus

import (
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks/checktest"
)

// TestLiveLinux runs both checks on this machine. Whatever it has
// installed, the results must be well formed, and antivirus_signatures
// must not claim an engine antivirus did not find.
func TestLiveLinux(t *testing.T) {
	av := checktest.Live(t, NewAntivirus())
	sig := checktest.Live(t, NewSignatures())
	if len(av.Details) == 0 {
		t.Error("antivirus gave no details of what it looked at")
	}
	if av.Status == health.Unknown && sig.Status == health.Pass {
		t.Error("signatures pass while no antivirus could be confirmed")
	}
}
