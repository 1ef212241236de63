package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
)

type vector struct {
	Name string `json:"name"`
	// Policy is a policy file under testdata; empty is the default policy.
	Policy     string                    `json:"policy"`
	OS         string                    `json:"os"`
	Indicators int64                     `json:"indicators"`
	Checks     map[health.CheckID]string `json:"checks"`
	// Evidence sets a check's evidence source and trust; the others
	// have source "test" and trust os_reported.
	Evidence map[health.CheckID]health.Evidence `json:"evidence"`
	Tier     health.Tier                        `json:"tier"`
	Findings []string                           `json:"findings"`
}

var now = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)

func statement(v vector) *health.Statement {
	s := &health.Statement{Version: 1, DeviceID: "d", Nonce: "n", IssuedAt: now, CollectedAt: now, OS: v.OS, IndicatorsVersion: v.Indicators}
	for _, id := range health.CheckIDs { // a stable order, as an agent sends them
		if st, ok := v.Checks[id]; ok {
			ev, ok := v.Evidence[id]
			if !ok {
				ev = health.Evidence{Source: "test", Trust: health.OSReported}
			}
			s.Checks = append(s.Checks, health.Result{ID: id, Status: health.Status(st), Evidence: ev})
		}
	}
	return s
}

// TestPolicyVectors runs the vectors against the default policy, or the
// policy file under testdata a vector names.
func TestPolicyVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 10 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	policies := map[string]*Policy{"": Default()}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			p, ok := policies[v.Policy]
			if !ok {
				var err error
				if p, err = Load(filepath.Join("testdata", v.Policy)); err != nil {
					t.Fatal(err)
				}
				policies[v.Policy] = p
			}
			a, err := p.Evaluate(statement(v), now)
			if err != nil {
				t.Fatal(err)
			}
			if a.Tier != v.Tier {
				t.Errorf("tier = %s, want %s", a.Tier, v.Tier)
			}
			var got []string
			for _, f := range a.Findings {
				got = append(got, string(f.ID)+":"+string(f.Status))
			}
			slices.Sort(got)
			want := slices.Clone(v.Findings)
			slices.Sort(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("findings = %v, want %v", got, want)
			}
			wantID := "herd-default@1"
			if v.Policy != "" {
				wantID = "test-sighting-self-reported@2"
			}
			if a.PolicyID != wantID {
				t.Errorf("policy id = %q, want %q", a.PolicyID, wantID)
			}
		})
	}
}

func TestStaleStatementIsNone(t *testing.T) {
	s := statement(vector{OS: "linux", Checks: map[health.CheckID]string{"firewall": "pass", "auto_update": "pass", "pending_updates": "pass", "os_support": "pass"}})
	s.CollectedAt = now.Add(-25 * time.Hour)
	a, err := Default().Evaluate(s, now)
	if err != nil {
		t.Fatal(err)
	}
	if a.Tier != health.None {
		t.Fatalf("tier = %s, want none", a.Tier)
	}
}

func TestRequiredPerOS(t *testing.T) {
	p := Default()
	for _, tc := range []struct {
		os   string
		want []health.CheckID
	}{
		{"linux", []health.CheckID{"auto_update", "firewall", "os_support", "pending_updates"}},
		{"windows", []health.CheckID{"antivirus", "antivirus_signatures", "auto_update", "disk_encryption", "firewall", "os_support", "pending_updates", "screen_lock", "secure_boot"}},
		{"darwin", []health.CheckID{"antivirus", "antivirus_signatures", "auto_update", "disk_encryption", "firewall", "os_support", "pending_updates", "screen_lock"}},
	} {
		a, err := p.Evaluate(statement(vector{OS: tc.os}), now)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Required, tc.want) {
			t.Errorf("%s: required = %v, want %v", tc.os, a.Required, tc.want)
		}
	}
}

func TestParseRejectsBadPolicies(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"not json", `{`, "policy:"},
		{"no id", `{"version":1,"tiers":[{"tier":"affirming","when":"true"}]}`, "id and a positive version"},
		{"unknown check", `{"id":"p","version":1,"required":{"wifi":"true"},"tiers":[{"tier":"affirming","when":"true"}]}`, `unknown check "wifi"`},
		{"bad tier", `{"id":"p","version":1,"tiers":[{"tier":"great","when":"true"}]}`, `"great" is not a tier`},
		{"not boolean", `{"id":"p","version":1,"tiers":[{"tier":"affirming","when":"1 + 1"}]}`, "must be a boolean"},
		{"syntax", `{"id":"p","version":1,"tiers":[{"tier":"affirming","when":"checks.exists(c,"}]}`, "tiers[0]"},
		{"no tiers", `{"id":"p","version":1}`, "at least one tier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPolicyImportsNoNetHTTP(t *testing.T) {
	b, err := os.ReadFile("policy.go")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"net/http"`) {
		t.Fatal("package policy must stay pure: it imports net/http")
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := Default()
	s := statement(vector{OS: "windows", Indicators: 3, Checks: map[health.CheckID]string{"firewall": "pass", "antivirus": "pass", "antivirus_signatures": "pass", "auto_update": "pass", "pending_updates": "pass", "os_support": "pass", "disk_encryption": "fail", "screen_lock": "pass", "secure_boot": "pass", "malware": "pass"}})
	for b.Loop() {
		if _, err := p.Evaluate(s, now); err != nil {
			b.Fatal(err)
		}
	}
}
