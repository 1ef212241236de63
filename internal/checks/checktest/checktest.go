// Package checktest runs a device check against recorded snapshots and
// compares what it says with the answer written beside each snapshot.
//
// A test snapshot is an ordinary snapshot file (see package source) with
// one more top-level key, "want":
//
//	"want": {"status": "pass", "reason": "substring", "evidence_source": "nft", "env": {...}}
//
// status is required; reason, when given, must occur in the English
// reason; evidence_source, when given, must equal evidence.source;
// details, when given, must occur in the joined details. env, when given,
// sets policy limits for this snapshot over the test's Env, as Go
// durations: {"max_signature_age": "72h", "max_pending_age": "720h",
// "max_lock_delay": "5m"}.
package checktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// Want is the expected answer beside a test snapshot.
type Want struct {
	Status         health.Status `json:"status"`
	Reason         string        `json:"reason,omitempty"`
	EvidenceSource string        `json:"evidence_source,omitempty"`
	Details        string        `json:"details,omitempty"`
	Env            *WantEnv      `json:"env,omitempty"`
}

// WantEnv is a snapshot's own policy limits, as Go durations ("72h").
type WantEnv struct {
	MaxSignatureAge string `json:"max_signature_age,omitempty"`
	MaxPendingAge   string `json:"max_pending_age,omitempty"`
	MaxLockDelay    string `json:"max_lock_delay,omitempty"`
}

// apply sets the limits w gives on env.
func (w *WantEnv) apply(env checks.Env) (checks.Env, error) {
	if w == nil {
		return env, nil
	}
	for _, f := range []struct {
		s   string
		dst *time.Duration
	}{{w.MaxSignatureAge, &env.MaxSignatureAge}, {w.MaxPendingAge, &env.MaxPendingAge}, {w.MaxLockDelay, &env.MaxLockDelay}} {
		if f.s == "" {
			continue
		}
		d, err := time.ParseDuration(f.s)
		if err != nil || d <= 0 {
			return env, fmt.Errorf("want.env: bad duration %q", f.s)
		}
		*f.dst = d
	}
	return env, nil
}

// Case is one loaded test snapshot.
type Case struct {
	Name     string
	Snapshot *source.Snapshot
	Want     Want
}

// Load reads every test snapshot matching pattern (e.g. "testdata/linux/*.json").
func Load(t testing.TB, pattern string) []Case {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	var out []Case
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := source.ReadSnapshot(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var w struct {
			Want *Want `json:"want"`
		}
		if err := json.Unmarshal(b, &w); err != nil || w.Want == nil {
			t.Fatalf("%s: no \"want\" object", f)
		}
		if _, err := w.Want.Env.apply(checks.Env{}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !w.Want.Status.Valid() {
			t.Fatalf("%s: want.status %q is not a status", f, w.Want.Status)
		}
		out = append(out, Case{Name: strings.TrimSuffix(filepath.Base(f), ".json"), Snapshot: snap, Want: *w.Want})
	}
	if len(out) == 0 {
		t.Fatalf("no test snapshots match %s", pattern)
	}
	return out
}

// Run evaluates c against a snapshot with env.
func Run(c checks.Check, snap *source.Snapshot, env checks.Env) checks.Result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Run(ctx, source.NewReplay(snap), env)
}

// RunSnapshots runs c on every test snapshot matching pattern and checks
// each answer, as a subtest per file. It returns the statuses seen, so a
// caller can insist that pass, fail and unknown cases all exist.
func RunSnapshots(t *testing.T, c checks.Check, pattern string, env checks.Env) map[health.Status]int {
	t.Helper()
	seen := map[health.Status]int{}
	for _, tc := range Load(t, pattern) {
		t.Run(tc.Name, func(t *testing.T) {
			e, _ := tc.Want.Env.apply(env) // checked by Load
			got := Run(c, tc.Snapshot, e)
			seen[got.Status]++
			Assert(t, c.ID(), got, tc.Want)
		})
	}
	return seen
}

// Assert checks one result against its expected answer and the rules
// every result obeys: a reason in every language, evidence with a source
// and a trust level, and remediation in every language on fail.
func Assert(t *testing.T, id health.CheckID, got checks.Result, want Want) {
	t.Helper()
	if got.Status != want.Status {
		t.Errorf("%s: status = %s, want %s (reason: %s; details: %v)", id, got.Status, want.Status, got.Reason.En, got.Details)
	}
	if want.Reason != "" && !strings.Contains(got.Reason.En, want.Reason) {
		t.Errorf("%s: reason %q does not contain %q", id, got.Reason.En, want.Reason)
	}
	if want.EvidenceSource != "" && got.Evidence.Source != want.EvidenceSource {
		t.Errorf("%s: evidence.source = %q, want %q", id, got.Evidence.Source, want.EvidenceSource)
	}
	if want.Details != "" && !strings.Contains(strings.Join(got.Details, "\n"), want.Details) {
		t.Errorf("%s: details %q do not contain %q", id, got.Details, want.Details)
	}
	AssertWellFormed(t, id, got)
}

// AssertWellFormed checks the rules every result obeys.
func AssertWellFormed(t *testing.T, id health.CheckID, got checks.Result) {
	t.Helper()
	for _, l := range i18n.Supported {
		if got.Reason.In(l) == "" {
			t.Errorf("%s: no reason in %s", id, l)
		}
	}
	if got.Reason.Zh == "" || got.Reason.Zh == got.Reason.En {
		t.Errorf("%s: reason is not translated to Chinese: %q", id, got.Reason.Zh)
	}
	if got.Evidence.Source == "" || !got.Evidence.Trust.Valid() {
		t.Errorf("%s: evidence needs a source and a trust level, got %+v", id, got.Evidence)
	}
	if got.Status == health.Fail {
		if got.Remediation.En == "" || got.Remediation.Zh == "" {
			t.Errorf("%s: a failing result needs remediation in English and Chinese", id)
		}
	}
	for _, p := range LanguageProblems("reason", got.Reason.En, got.Reason.Zh) {
		t.Errorf("%s: %s", id, p)
	}
	for _, p := range LanguageProblems("remediation", got.Remediation.En, got.Remediation.Zh) {
		t.Errorf("%s: %s", id, p)
	}
}

// OSes are the operating systems every check has test snapshots for.
var OSes = []string{"linux", "windows", "darwin"}

// SnapshotsAllOS runs c on testdata/<goos>/*.json for every OS in OSes,
// as subtests named by OS, and insists that each OS has a pass, a fail
// and an unknown case; also lists further statuses (e.g.
// health.NotApplicable) each OS must have a case for.
func SnapshotsAllOS(t *testing.T, c checks.Check, env checks.Env, also ...health.Status) {
	t.Helper()
	SnapshotsAllOSPattern(t, c, "*.json", env, also...)
}

// SnapshotsAllOSPattern is SnapshotsAllOS over testdata/<goos>/<glob>,
// for packages holding several checks' snapshots side by side.
func SnapshotsAllOSPattern(t *testing.T, c checks.Check, glob string, env checks.Env, also ...health.Status) {
	t.Helper()
	for _, goos := range OSes {
		t.Run(goos, func(t *testing.T) {
			seen := RunSnapshots(t, c, "testdata/"+goos+"/"+glob, env)
			for _, st := range append([]health.Status{health.Pass, health.Fail, health.Unknown}, also...) {
				if seen[st] == 0 {
					t.Errorf("%s: no %s case for %s", c.ID(), st, goos)
				}
			}
		})
	}
}

// ProbesAllOS insists that c lists probes for every OS in OSes, each
// with exactly the field its kind needs and none twice, and has an id.
// That every read the check makes is among its probes is held by a test
// of package all, over every test snapshot.
func ProbesAllOS(t *testing.T, c checks.Check) {
	t.Helper()
	if c.ID() == "" {
		t.Error("check has no id")
	}
	for _, goos := range OSes {
		ps := c.Probes(goos)
		if len(ps) == 0 {
			t.Errorf("%s: no probes for %s", c.ID(), goos)
		}
		seen := map[string]bool{}
		for _, p := range ps {
			k := string(p.Kind) + "\x00" + p.Describe(goos)
			if seen[k] {
				t.Errorf("%s: %s %s listed twice for %s", c.ID(), p.Kind, p.Describe(goos), goos)
			}
			seen[k] = true
			if len(p.Values) > 0 && p.Kind != source.KindRegistry {
				t.Errorf("%s: value names on a %s probe for %s: %+v", c.ID(), p.Kind, goos, p)
			}
			ok := false
			switch p.Kind {
			case source.KindFile, source.KindDir:
				ok = p.Path != ""
			case source.KindCommand:
				ok = len(p.Argv) > 0
			case source.KindWMI:
				ok = p.Class != ""
			case source.KindRegistry:
				ok = p.Key != ""
			case source.KindProcesses, source.KindConnections:
				ok = true
			}
			if !ok {
				t.Errorf("%s: malformed %s probe for %s: %+v", c.ID(), p.Kind, goos, p)
			}
		}
	}
}

// Live runs c on this machine and checks the result is well formed; it
// returns the result for further assertions.
func Live(t *testing.T, c checks.Check) checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := c.Run(ctx, source.NewLive(), checks.Env{})
	t.Logf("%s: %s: %s %q", c.ID(), r.Status, r.Reason.En, r.Details)
	AssertWellFormed(t, c.ID(), r)
	return r
}
