//go:build linux

package secureboot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
	"github.com/herd-health/herd/internal/source"
)

// TestLive runs the check on this machine: the result must be well formed
// and never a fail because a tool or the firmware information is missing.
func TestLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := New().Run(ctx, source.NewLive(), checks.Env{})
	t.Logf("%s: %s %q", r.Status, r.Reason.En, r.Details)
	checktest.AssertWellFormed(t, health.SecureBoot, r)
	if r.Status == health.Fail {
		joined := strings.Join(r.Details, "\n")
		if strings.Contains(joined, "not installed") && !strings.Contains(joined, "SecureBoot variable: disabled") && !strings.Contains(joined, "setup mode") {
			t.Errorf("failed for a missing tool: %q", r.Details)
		}
	}
	if r.Status == health.NotApplicable && !strings.Contains(r.Reason.En, "without UEFI") {
		t.Errorf("not_applicable must say the machine boots without UEFI: %q", r.Reason.En)
	}
}
