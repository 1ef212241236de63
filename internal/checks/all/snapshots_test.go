package all

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/checktest"
	"github.com/herd-health/herd/internal/source"
)

// testSnapshot is one test snapshot of some check package.
type testSnapshot struct {
	name string // package/goos/file
	snap *source.Snapshot
}

// everySnapshot loads the test snapshots of every check package: each
// check is run on all of them, not only on its own, so that every path a
// snapshot can lead a check down is taken.
func everySnapshot(t *testing.T) []testSnapshot {
	t.Helper()
	var files []string
	for _, pat := range []string{"../*/testdata/*/*.json", "../*/testdata/*/*/*.json"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var out []testSnapshot
	for _, f := range files {
		if strings.Contains(f, string(filepath.Separator)+"raw"+string(filepath.Separator)) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := source.ReadSnapshot(strings.NewReader(string(b)))
		if err != nil {
			continue // a captured output kept beside the snapshots
		}
		out = append(out, testSnapshot{name: strings.TrimPrefix(filepath.ToSlash(f), "../"), snap: snap})
	}
	if len(out) < 100 {
		t.Fatalf("found only %d test snapshots", len(out))
	}
	return out
}

func run(c checks.Check, src source.Source) checks.Result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Run(ctx, src, checks.Env{})
}

// wrapped is the plainest wrapper a caller may put around a Source: it
// embeds the interface and overrides nothing.
type wrapped struct{ source.Source }

// A Source wrapped by another one reads the same: every check gives the
// same result on every snapshot, whether the replay is wrapped or not.
func TestWrappedSourceReadsTheSame(t *testing.T) {
	for _, ts := range everySnapshot(t) {
		for _, c := range Checks() {
			direct := run(c, source.NewReplay(ts.snap))
			through := run(c, wrapped{source.NewReplay(ts.snap)})
			if !reflect.DeepEqual(direct, through) {
				t.Errorf("%s on %s: %s directly, %s through a wrapper (%s)", c.ID(), ts.name, direct.Status, through.Status, through.Reason.En)
			}
		}
	}
}

// Missing evidence is never a failure: on a snapshot that holds nothing
// at all, for any OS and whoever the agent runs as, no check fails.
// (A check fails only on what it read, never on what it could not.)
func TestEmptySnapshotNeverFails(t *testing.T) {
	at := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	for _, goos := range []string{"linux", "windows", "darwin"} {
		for _, user := range []string{"USER", "root", "SYSTEM", "Administrator"} {
			snap := source.NewSnapshot(goos, at, user, "")
			for _, c := range Checks() {
				r := run(c, source.NewReplay(snap))
				if r.Status == health.Fail {
					t.Errorf("%s on an empty %s snapshot (agent as %s): fail: %s", c.ID(), goos, user, r.Reason.En)
				}
				checktest.AssertWellFormed(t, c.ID(), r)
			}
		}
	}
}

// Every result's trust level follows the rule of package checks: what a
// security product says of itself is product_reported, even when Windows
// relays it (Security Center rows); what the operating system holds or
// observes (its settings, its process list, firmware variables read
// through the kernel) is os_reported; nothing is hardware_backed until a
// check verifies a hardware attestation.
func TestTrustLevels(t *testing.T) {
	product := []string{"root/SecurityCenter2", "Get-MpComputerStatus", "clamdscan", "clamscan", "/var/lib/clamav"}
	osOwn := []string{"processes", "efivarfs", "/sys/", "registry", "HKLM", "HKCU", "HKU", "sw_vers", "fdesetup", "lsblk", "nft", "netsh", "powercfg", "Get-NetFirewallProfile"}
	for _, ts := range everySnapshot(t) {
		for _, c := range Checks() {
			if c.ID() == health.Malware {
				continue // judged by its own package
			}
			r := run(c, source.NewReplay(ts.snap))
			ev := r.Evidence
			if ev.Trust == health.HardwareBacked {
				t.Errorf("%s on %s: %s is hardware_backed, but no hardware attestation was verified", c.ID(), ts.name, ev.Source)
			}
			for _, p := range product {
				if strings.HasPrefix(ev.Source, p) && ev.Trust != health.ProductReported {
					t.Errorf("%s on %s: %s is %s, want product_reported (the product reports its own state)", c.ID(), ts.name, ev.Source, ev.Trust)
				}
			}
			for _, o := range osOwn {
				if strings.HasPrefix(ev.Source, o) && ev.Trust != health.OSReported {
					t.Errorf("%s on %s: %s is %s, want os_reported (the operating system holds or observes it)", c.ID(), ts.name, ev.Source, ev.Trust)
				}
			}
		}
	}
}

// Every read a check makes is listed by its probes: run through a
// Recorder on every test snapshot of its OS, each read (found or not)
// matches one of the check's probes for that OS, a template's
// placeholders matching anything.
func TestProbesCoverEveryRead(t *testing.T) {
	missing := map[string]bool{}
	for _, ts := range everySnapshot(t) {
		for _, c := range Checks() {
			rec := source.NewRecorder(source.NewReplay(ts.snap), source.RecorderOptions{})
			run(c, rec)
			probes := c.Probes(ts.snap.OS)
			for i := range probes {
				probes[i] = probes[i].Expand(rec)
			}
			for _, read := range rec.Reads() {
				found := false
				for _, p := range probes {
					if p.Matches(read) {
						found = true
						break
					}
				}
				key := fmt.Sprintf("%s on %s: %s %s", c.ID(), ts.snap.OS, read.Kind, read.Describe(ts.snap.OS))
				if !found && !missing[key] {
					missing[key] = true
					t.Errorf("%s (first read on %s) is not among its probes", key, ts.name)
				}
			}
		}
	}
}
