//go:build linux

package updates

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
	"github.com/herd-health/herd/internal/checks/ossupport"
	"github.com/herd-health/herd/internal/source"
)

// TestLive runs auto_update, pending_updates and os_support on this
// machine and checks the answers are well formed and agree with what the
// machine shows.
func TestLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src := source.NewLive()
	list := []checks.Check{NewAutoUpdate(), NewPending(), ossupport.New()}
	outcomes := checks.RunAll(ctx, src, list, checks.Env{})
	got := map[health.CheckID]checks.Result{}
	for _, o := range outcomes {
		checktest.AssertWellFormed(t, o.ID, o.Result)
		if o.Status == health.NotApplicable {
			t.Errorf("%s: not_applicable on Linux: %s", o.ID, o.Reason.En)
		}
		got[o.ID] = o.Result
		t.Logf("%s: %s: %s %v", o.ID, o.Status, o.Reason.En, o.Details)
	}

	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Skip("no /etc/os-release")
	}
	osr := ossupport.ParseOSRelease(string(b))
	if osr["ID"] != "debian" {
		return
	}
	if osr["VERSION_ID"] == "12" {
		if r := got[health.OSSupport]; r.Status != health.Pass {
			t.Errorf("os_support on Debian 12: %s: %s", r.Status, r.Reason.En)
		}
	}
	// auto_update agrees with whether unattended-upgrades is installed.
	if _, err := os.Stat(unattendedBin); os.IsNotExist(err) {
		st, _ := os.ReadFile(dpkgStatus)
		if !strings.Contains(ParseDpkgStatus(string(st))["unattended-upgrades"], " installed") {
			if r := got[health.AutoUpdate]; r.Status != health.Fail || !strings.Contains(r.Reason.En, "not installed") {
				t.Errorf("auto_update without unattended-upgrades: %s: %s", r.Status, r.Reason.En)
			}
		}
	}
	// pending_updates counted what APT itself reports.
	if _, err := exec.LookPath("apt-get"); err == nil {
		out, err := exec.CommandContext(ctx, "apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade").Output()
		if err == nil {
			n := 0
			for _, u := range ParseAptSimulate(string(out)) {
				if u.Security {
					n++
				}
			}
			r := got[health.PendingUpdates]
			if c, ok := r.Evidence.Facts["security_updates_pending"]; !ok || c != n {
				t.Errorf("pending_updates counted %v security updates, apt-get shows %d", c, n)
			}
			if n == 0 && r.Status == health.Fail && r.Evidence.Source != rebootRequired {
				t.Errorf("pending_updates fails with no security update pending: %s", r.Reason.En)
			}
		}
	}
}
