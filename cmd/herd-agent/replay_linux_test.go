package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/indicators"
	"github.com/herd-health/herd/internal/source"
)

// TestReplaySnapshotWithItsBundle: support replays a user's snapshot
// against the bundle the user's agent held. collect records every
// running program's hash although this agent holds no bundle, and
// check --snapshot --indicators judges them with the bundle file given,
// not the one the support agent keeps.
func TestReplaySnapshotWithItsBundle(t *testing.T) {
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip(err)
	}
	prog := filepath.Join(t.TempDir(), "helper")
	if err := os.WriteFile(prog, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sum := sha256.Sum256(b)
	want := hex.EncodeToString(sum[:])

	userDir := t.TempDir() // the user's agent: no bundle yet
	snap := filepath.Join(t.TempDir(), "snap.json")
	if _, stderr, code := runCmd(t, "collect", "--dir", userDir, "-o", snap); code != 0 {
		t.Fatalf("collect exit %d: %s", code, stderr)
	}
	s, err := source.LoadSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	recorded := false
	for _, p := range s.Processes {
		if p.PID == cmd.Process.Pid {
			recorded = p.SHA256 == want
			if !recorded {
				t.Errorf("process recorded as %+v, want sha256 %s", p, want)
			}
		}
	}
	if !recorded {
		t.Fatalf("the running program (pid %d) is not in the snapshot", cmd.Process.Pid)
	}

	// The bundle the user's agent would have kept, listing the program.
	bld := indicators.NewBuilder(12)
	if err := bld.AddHash(want, indicators.Ref{Source: "malwarebazaar", Family: "ExampleBot"}); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "indicators.bin")
	if err := os.WriteFile(bundle, bld.Build().Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The support agent keeps a bundle of its own that lists nothing of
	// the snapshot's.
	supportDir := t.TempDir()
	support := agent.Store{Dir: supportDir}
	if _, err := support.LoadOrCreateKey(); err != nil {
		t.Fatal(err)
	}
	own := indicators.NewBuilder(99)
	own.AddProcess("nothing-here", indicators.Ref{Source: "test"})
	if err := newAgent(supportDir, nil, nil).KeepIndicators(own.Build()); err != nil {
		t.Fatal(err)
	}

	malware := func(t *testing.T, args ...string) (health.Status, string) {
		t.Helper()
		out, stderr, code := runCmd(t, append([]string{"check", "--dir", supportDir, "--snapshot", snap, "--json", "--lang", "en"}, args...)...)
		if code != 0 {
			t.Fatalf("check exit %d: %s", code, stderr)
		}
		for _, c := range decodeReport(t, out).Checks {
			if c.ID == health.Malware {
				return c.Status, c.Reason
			}
		}
		t.Fatal("no malware check")
		return "", ""
	}
	if st, reason := malware(t, "--indicators", bundle); st != health.Fail || !strings.Contains(reason, "ExampleBot") {
		t.Errorf("replayed with the user's bundle: %s %q, want fail naming ExampleBot", st, reason)
	}
	if st, reason := malware(t); st != health.Pass || !strings.Contains(reason, "version 99") {
		t.Errorf("replayed with the support agent's own bundle: %s %q, want pass against version 99", st, reason)
	}

	// A file that is not a bundle is refused with a reason.
	bad := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(bad, []byte("not a bundle"), 0o600)
	if _, stderr, code := runCmd(t, "check", "--snapshot", snap, "--indicators", bad); code != 1 || !strings.Contains(stderr, "not an indicator bundle") {
		t.Errorf("bad bundle: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runCmd(t, "check", "--snapshot", snap, "--indicators", filepath.Join(t.TempDir(), "missing.bin")); code != 1 || !strings.Contains(stderr, "missing.bin") {
		t.Errorf("missing bundle: exit %d, %q", code, stderr)
	}
}
