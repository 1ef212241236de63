//go:build linux

package ossupport

import (
	"os"
	"strings"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks/checktest"
)

// TestLive runs the check on this machine. On Debian 12 it must pass:
// Debian LTS supports bookworm until 2028-06-30.
func TestLive(t *testing.T) {
	got := checktest.Live(t, New())
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Skip("no /etc/os-release")
	}
	osr := ParseOSRelease(string(b))
	if osr["ID"] == "debian" && osr["VERSION_ID"] == "12" {
		if got.Status != health.Pass || !strings.Contains(got.Reason.En, "2028-06-30") {
			t.Errorf("Debian 12: %s: %s", got.Status, got.Reason.En)
		}
	}
}
