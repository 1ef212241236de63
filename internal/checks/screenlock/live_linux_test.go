//go:build linux

package screenlock

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
	"github.com/herd-health/herd/internal/source"
)

// TestLive runs the check on this machine. A machine with no graphical
// session (a container, a server, CI) must answer not_applicable; set
// HERD_TEST_DESKTOP=1 on a desktop to accept any well-formed answer.
func TestLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := New().Run(ctx, source.NewLive(), checks.Env{})
	checktest.AssertWellFormed(t, health.ScreenLock, got)
	t.Logf("%s: %s %v", got.Status, got.Reason.En, got.Details)
	if os.Getenv("HERD_TEST_DESKTOP") == "" && got.Status != health.NotApplicable {
		t.Errorf("status %s, want not_applicable with no desktop session (reason: %s)", got.Status, got.Reason.En)
	}
}
