package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/malware"
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/source"
)

// A process name a STIX bundle lists is imported (counted as "process"),
// shipped in the signed bundle, and fails the malware check of a device
// running that program; a common program's name in the same bundle is
// refused and alarms nobody.
func TestIntelProcessNamesReachDevices(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "herd.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	n, err := node.Open(ctx, node.Config{DSN: dsn, Authority: authority.Config{Issuer: url, IntelCacheTTL: -1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: n.Authority}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); n.Close() })

	bundle := filepath.Join(t.TempDir(), "miner.json")
	if err := os.WriteFile(bundle, []byte(`{"type": "bundle", "id": "bundle--1", "objects": [
{"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-0000000000a1", "pattern": "[process:name = 'kdevtmpfsi']", "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z"},
{"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-0000000000a2", "pattern": "[process:name = 'sshd']", "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z"}
]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	res, code, _ := runIntelJSON(t, "--db", dsn, bundle)
	if code != 0 || res.Imported[intel.Process] != 1 || res.Skipped != 1 || len(res.Errors) != 1 {
		t.Fatalf("import: exit %d, %+v; want 1 process imported, sshd refused", code, res)
	}

	dir := t.TempDir()
	newAgent := func(procs ...string) *agent.Agent {
		snap := source.NewSnapshot("linux", time.Now().UTC(), "USER", "")
		snap.Files["/etc/os-release"] = source.FileEntry{Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")}
		for i, p := range procs {
			snap.Processes = append(snap.Processes, source.Process{PID: 100 + i, Name: p})
		}
		a := &agent.Agent{Store: agent.Store{Dir: dir}, Checks: []checks.Check{malware.New()}, Source: source.NewReplay(snap), Version: "test"}
		a.LoadIndicators()
		return a
	}
	if _, err := newAgent().Enroll(ctx, url, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := newAgent("sshd").CheckIn(ctx); err != nil { // fetches the bundle
		t.Fatal(err)
	}
	malwareOf := func(procs ...string) checks.Result {
		t.Helper()
		for _, o := range newAgent(procs...).RunChecks(ctx) {
			if o.ID == health.Malware {
				return o.Result
			}
		}
		t.Fatal("no malware result")
		return checks.Result{}
	}
	if r := malwareOf("sshd", "bash"); r.Status != health.Pass {
		t.Errorf("a device running only sshd and bash: %s (%v), want pass", r.Status, r.Reason)
	}
	if r := malwareOf("sshd", "kdevtmpfsi"); r.Status != health.Fail {
		t.Errorf("a device running kdevtmpfsi: %s (%v), want fail", r.Status, r.Reason)
	}
}
