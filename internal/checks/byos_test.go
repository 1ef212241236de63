package checks_test

import (
	"context"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

func TestByOS(t *testing.T) {
	linux := checks.OSFunc(func() []source.Probe { return []source.Probe{source.File("/etc/os-release")} },
		func(context.Context, source.Source, checks.Env) checks.Result {
			return checks.Pass(i18n.T("linux ran", "已运行"), checks.Evidence("test", health.OSReported))
		})
	c := checks.ByOS{CheckID: health.Firewall, Linux: linux}
	tests := []struct {
		goos   string
		status health.Status
		reason string
		probes int
	}{
		{"linux", health.Pass, "linux ran", 1},
		{"windows", health.NotApplicable, "herd does not run the firewall check on this operating system (windows).", 0},
		{"plan9", health.NotApplicable, "herd does not run the firewall check on this operating system (plan9).", 0},
	}
	for _, tc := range tests {
		t.Run(tc.goos, func(t *testing.T) {
			r := c.Run(context.Background(), source.NewReplay(source.NewSnapshot(tc.goos, time.Now(), "root", "/root")), checks.Env{})
			if r.Status != tc.status || r.Reason.En != tc.reason || r.Reason.Zh == "" {
				t.Errorf("got %s %q / %q", r.Status, r.Reason.En, r.Reason.Zh)
			}
			if n := len(c.Probes(tc.goos)); n != tc.probes {
				t.Errorf("%d probes, want %d", n, tc.probes)
			}
		})
	}
	if c.ID() != health.Firewall {
		t.Errorf("ID = %s", c.ID())
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 days"}, {1, "1 day"}, {2, "2 days"}, {-1, "-1 day"}} {
		if got := checks.Count(tc.n, "day", "days"); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
