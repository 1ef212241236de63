//go:build linux

package diskencryption

import (
	"context"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
	"github.com/herd-health/herd/internal/source"
)

// TestLive runs the check on this machine and asserts a well-formed
// answer; what it is depends on the machine's disk.
func TestLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := New().Run(ctx, source.NewLive(), checks.Env{})
	checktest.AssertWellFormed(t, health.DiskEncryption, got)
	if !got.Status.Valid() {
		t.Fatalf("status %q", got.Status)
	}
	if got.Status == health.Pass || got.Status == health.Fail {
		if len(got.Details) == 0 {
			t.Errorf("%s without details of the device judged", got.Status)
		}
	}
	t.Logf("%s: %s %v", got.Status, got.Reason.En, got.Details)
}
