package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The agent runs on people's devices: it must stay small and must not
// carry the authority's database drivers or web console.
func TestAgentLinksNoDatabaseOrConsole(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list returned too little: %q", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{
			"modernc.org/sqlite", "github.com/jackc/pgx", "database/sql",
			"github.com/herd-health/herd/internal/store", "github.com/herd-health/herd/internal/console",
			"github.com/herd-health/herd/internal/authority", "cel.dev/cel-go",
		} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("herd-agent links %s", d)
			}
		}
	}
}
