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
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// TestLive runs auto_update, pending_updates and os_support on this
// machine and checks the answers are well formed and agree with what the
// machine shows.
func TestLive(t *testing.T) {
	got := map[health.CheckID]checks.Result{}
	for _, c := range []checks.Check{NewAutoUpdate(), NewPending(), ossupport.New()} {
		r := checktest.Live(t, c)
		if r.Status == health.NotApplicable {
			t.Errorf("%s: not_applicable on Linux: %s", c.ID(), r.Reason.En)
		}
		got[c.ID()] = r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src := source.NewLive()

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
	// pending_updates read from APT's local metadata agrees with what
	// APT itself reports through apt-get -s dist-upgrade.
	if _, err := exec.LookPath("apt-get"); err == nil {
		local, sim := aptPendingBy(ctx, src, true, checks.Env{}), aptPendingBy(ctx, src, false, checks.Env{})
		if local.source != aptLocalSource || sim.source != "apt-get -s dist-upgrade" {
			t.Fatalf("methods: %q and %q", local.source, sim.source)
		}
		localUpdates, _ := aptLocalPending(src)
		localNames := aptNames(localUpdates)
		out, err := exec.CommandContext(ctx, "apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade").Output()
		if err != nil {
			t.Fatalf("apt-get -s: %v", err)
		}
		have := map[string]bool{}
		for _, n := range localNames {
			have[n] = true
		}
		simNames := map[string]bool{}
		for _, u := range ParseAptSimulate(string(out)) {
			if u.Security {
				simNames[u.Package] = true
				if !have[u.Package] {
					t.Errorf("apt-get -s upgrades %s from a security suite; the local metadata missed it", u.Package)
				}
			}
		}
		// A package the lists count beyond APT's is one whose candidate
		// comes from another suite (a point release newer than the
		// security fix): the installed version still lacks that fix.
		for _, n := range localNames {
			if simNames[n] {
				continue
			}
			pol, err := exec.CommandContext(ctx, "apt-cache", "policy", n).Output()
			if err != nil || !strings.Contains(string(pol), "-security") {
				t.Errorf("local metadata counts %s, which no security suite offers: %s", n, pol)
			}
			t.Logf("counted beyond apt-get -s: %s (candidate from another suite)", n)
		}
		now := src.Now()
		a, b := local.judge(now, checks.DefaultMaxPendingAge, i18n.T("x", "x")), sim.judge(now, checks.DefaultMaxPendingAge, i18n.T("x", "x"))
		if a.Status != b.Status {
			t.Errorf("local metadata says %s (%s); apt-get -s says %s (%s)", a.Status, a.Reason.En, b.Status, b.Reason.En)
		}
		r := got[health.PendingUpdates]
		if c := r.Evidence.Facts["security_updates_pending"]; c != len(localNames) {
			t.Errorf("pending_updates counted %v security updates, the lists show %d", c, len(localNames))
		}
		if r.Evidence.Source != aptLocalSource {
			t.Errorf("pending_updates read %q, want the local metadata", r.Evidence.Source)
		}
		if len(simNames) == 0 && r.Status == health.Fail && r.Evidence.Source != rebootRequired {
			t.Errorf("pending_updates fails with no security update pending: %s", r.Reason.En)
		}
		t.Logf("security updates: %d from the lists, %d from apt-get -s; status %s", len(localNames), len(simNames), a.Status)
	}
}
