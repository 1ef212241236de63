package verify_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoInternalImports keeps the public relying-party packages free of
// herd's internal packages, so a bank can vendor them alone.
func TestNoInternalImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}",
		"github.com/herd-health/herd/verify", "github.com/herd-health/herd/verify/verifytest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too few packages: %q", deps)
	}
	sawHealthcert := false
	for _, p := range deps {
		if p == "github.com/herd-health/herd/internal" || strings.HasPrefix(p, "github.com/herd-health/herd/internal/") {
			t.Errorf("verify depends on %s", p)
		}
		if p == "github.com/herd-health/herd/healthcert" {
			sawHealthcert = true
		}
		first, _, _ := strings.Cut(p, "/")
		if strings.Contains(first, ".") && !strings.HasPrefix(p, "github.com/herd-health/herd/") {
			t.Errorf("verify depends on third-party module package %s", p)
		}
	}
	if !sawHealthcert {
		t.Error("dependency list lacks healthcert; the check is not looking at the right packages")
	}
}
