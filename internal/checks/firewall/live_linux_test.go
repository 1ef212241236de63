//go:build linux

package firewall

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

// TestLive runs the check on this machine. Whatever is installed, the
// result must be well formed, and a machine without firewall tools must
// never fail for that reason.
func TestLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := New().Run(ctx, source.NewLive(), checks.Env{})
	t.Logf("%s: %s %q", r.Status, r.Reason.En, r.Details)
	checktest.AssertWellFormed(t, health.Firewall, r)
	if len(r.Details) != 4 {
		t.Errorf("want one detail per Linux source, got %q", r.Details)
	}
	if r.Status == health.Fail {
		for _, d := range r.Details {
			if strings.HasSuffix(d, "not installed") {
				continue
			}
			return // something was read and found off
		}
		t.Errorf("failed with no firewall tool installed: %q", r.Details)
	}
}
