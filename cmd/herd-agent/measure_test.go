package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMeasureAgent prints the figures of BENCHMARKS.md ("Agent"): binary
// sizes, wall time and peak memory of `herd-agent check --json` on this
// machine. It asserts nothing about timings and runs only when asked:
//
//	HERD_MEASURE=1 go test -run TestMeasureAgent -v ./cmd/herd-agent
func TestMeasureAgent(t *testing.T) {
	if os.Getenv("HERD_MEASURE") != "1" {
		t.Skip("set HERD_MEASURE=1 to measure")
	}
	dir := t.TempDir()
	for _, c := range []struct{ name, ldflags string }{{"herd-agent", ""}, {"herd-agent-sw", "-s -w"}} {
		out := filepath.Join(dir, c.name)
		if b, err := exec.Command("go", "build", "-ldflags", c.ldflags, "-o", out, ".").CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, b)
		}
		st, _ := os.Stat(out)
		t.Logf("binary %-14s ldflags=%q: %.1f MB", c.name, c.ldflags, float64(st.Size())/1e6)
	}
	bin := filepath.Join(dir, "herd-agent")
	for i := 0; i < 3; i++ {
		start := time.Now()
		if err := exec.Command(bin, "check", "--json").Run(); err != nil {
			t.Fatal(err)
		}
		t.Logf("check --json: wall %s", time.Since(start).Round(time.Millisecond))
	}
	if _, err := exec.LookPath("/usr/bin/time"); err == nil {
		// GNU time's %M is the largest peak resident size of the agent
		// and of each command it ran: an upper bound of the agent's own
		// peak. (A test binary measuring itself would count the test
		// framework and every test's code.)
		b, _ := exec.Command("/usr/bin/time", "-f", "peak RSS of the agent or the largest command it ran: %M KB", bin, "check", "--json").CombinedOutput()
		t.Log(lastLine(string(b)))
	}
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}
