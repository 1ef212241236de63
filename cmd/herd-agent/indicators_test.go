package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/indicators"
	"github.com/herd-health/herd/internal/source"
)

// check reads the indicator bundle the agent downloaded, as run does, and
// only when its seal verifies.
func TestCheckUsesKeptIndicators(t *testing.T) {
	dir := t.TempDir()
	store := agent.Store{Dir: dir}
	if _, err := store.LoadOrCreateKey(); err != nil {
		t.Fatal(err)
	}
	b := indicators.NewBuilder(7)
	if err := b.AddAddr(netip.MustParseAddr("192.0.2.7"), 443, indicators.Ref{Source: "test feed", Family: "examplebot"}); err != nil {
		t.Fatal(err)
	}
	a := newAgent(dir, nil, nil)
	if err := a.KeepIndicators(b.Build()); err != nil {
		t.Fatal(err)
	}
	snap := source.NewSnapshot("linux", time.Now().UTC(), "USER", "")
	snap.Files["/etc/os-release"] = source.FileEntry{Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")}
	snap.Connections = []source.Connection{{Proto: "tcp", Local: "10.0.0.2:51000", Remote: "192.0.2.7:443", State: "ESTABLISHED", PID: 42}}
	name := filepath.Join(t.TempDir(), "snap.json")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	snap.Write(f)
	f.Close()

	malware := func(t *testing.T) health.Status {
		t.Helper()
		out, stderr, code := runCmd(t, "check", "--dir", dir, "--snapshot", name, "--json", "--lang", "en")
		if code != 0 {
			t.Fatalf("check exit %d: %s", code, stderr)
		}
		for _, c := range decodeReport(t, out).Checks {
			if c.ID == health.Malware {
				return c.Status
			}
		}
		t.Fatal("no malware check in the report")
		return ""
	}
	if got := malware(t); got != health.Fail {
		t.Errorf("malware with the kept bundle: %s, want fail", got)
	}
	// A bundle changed after it was sealed is not used.
	bundle := filepath.Join(dir, "indicators.bin")
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(bundle, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := malware(t); got != health.Unknown {
		t.Errorf("malware with a tampered bundle: %s, want unknown", got)
	}
	// Nor is one without a seal.
	os.Remove(filepath.Join(dir, "indicators.seal"))
	if got := malware(t); got != health.Unknown {
		t.Errorf("malware with an unsealed bundle: %s, want unknown", got)
	}
}
