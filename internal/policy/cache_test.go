package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
)

// TestRequiredCacheKeysOnWholeDevice: the remembered `required` outcome
// is per device shape, so rules over os_version, agent_version and the
// indicator version's value still decide per statement, on repeat calls
// too; and a caller changing its appraisal does not change the next one.
func TestRequiredCacheKeysOnWholeDevice(t *testing.T) {
	p, err := Parse([]byte(`{"id":"t","version":1,
		"required":{"firewall":"device.os_version == 'old'","malware":"device.indicators_version > 5","screen_lock":"device.agent_version.startsWith('a')"},
		"tiers":[{"tier":"affirming","when":"true"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		ver   string
		agent string
		ind   int64
		want  []health.CheckID
	}{
		{"old release", "old", "b", 0, []health.CheckID{health.Firewall}},
		{"new release", "new", "b", 0, nil},
		{"indicators 3", "new", "b", 3, nil},
		{"indicators 9", "new", "b", 9, []health.CheckID{health.Malware}},
		{"agent a", "new", "a1", 9, []health.CheckID{health.Malware, health.ScreenLock}},
	}
	for round := range 3 {
		for _, tt := range tests {
			st := &health.Statement{OS: "linux", OSVersion: tt.ver, AgentVersion: tt.agent, IndicatorsVersion: tt.ind, CollectedAt: now}
			a, err := p.Evaluate(st, now)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Required, tt.want) {
				t.Fatalf("round %d, %s: required = %v, want %v", round, tt.name, a.Required, tt.want)
			}
			if len(a.Required) > 0 {
				a.Required[0] = "changed"
			}
		}
	}
}

// TestTierCacheKeysOnEveryInput: the remembered tier is per input of the
// tier rules, so rules over a check's source, trust, status and required
// flag, and over every field of `device`, still decide per statement on
// repeat calls; inputs that differ only in where one string ends and the
// next begins stay apart.
func TestTierCacheKeysOnEveryInput(t *testing.T) {
	p, err := Parse([]byte(`{"id":"t","version":1,
		"required":{"firewall":"device.os == 'windows'"},
		"tiers":[
			{"tier":"contraindicated","when":"checks.exists(c, c.source == 'sighting')"},
			{"tier":"none","when":"checks.exists(c, c.trust == 'self_reported')"},
			{"tier":"warning","when":"checks.exists(c, c.required && c.status != 'pass') || device.os_version == 'ab' || device.indicators_version == 7"},
			{"tier":"affirming","when":"true"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	res := func(status health.Status, source string, trust health.Trust) []health.Result {
		return []health.Result{{ID: health.Firewall, Status: status, Evidence: health.Evidence{Source: source, Trust: trust}}}
	}
	tests := []struct {
		name string
		st   health.Statement
		want health.Tier
	}{
		{"linux pass", health.Statement{OS: "linux", Checks: res(health.Pass, "nft", health.OSReported)}, health.Affirming},
		{"linux fail, not required", health.Statement{OS: "linux", Checks: res(health.Fail, "nft", health.OSReported)}, health.Affirming},
		{"windows fail, required", health.Statement{OS: "windows", Checks: res(health.Fail, "nft", health.OSReported)}, health.Warning},
		{"windows pass", health.Statement{OS: "windows", Checks: res(health.Pass, "nft", health.OSReported)}, health.Affirming},
		{"windows, not reported", health.Statement{OS: "windows"}, health.Warning},
		{"source sighting", health.Statement{OS: "linux", Checks: res(health.Pass, "sighting", health.OSReported)}, health.Contraindicated},
		{"self reported", health.Statement{OS: "linux", Checks: res(health.Pass, "nft", health.SelfReported)}, health.None},
		{"os_version ab", health.Statement{OS: "linux", OSVersion: "ab", Checks: res(health.Pass, "nft", health.OSReported)}, health.Warning},
		{"os_version a, agent b", health.Statement{OS: "linux", OSVersion: "a", AgentVersion: "b", Checks: res(health.Pass, "nft", health.OSReported)}, health.Affirming},
		{"indicators 7", health.Statement{OS: "linux", IndicatorsVersion: 7, Checks: res(health.Pass, "nft", health.OSReported)}, health.Warning},
		{"indicators 8", health.Statement{OS: "linux", IndicatorsVersion: 8, Checks: res(health.Pass, "nft", health.OSReported)}, health.Affirming},
	}
	for round := range 3 {
		for _, tt := range tests {
			st := tt.st
			st.CollectedAt = now
			a, err := p.Evaluate(&st, now)
			if err != nil {
				t.Fatal(err)
			}
			if a.Tier != tt.want {
				t.Fatalf("round %d, %s: tier = %s, want %s", round, tt.name, a.Tier, tt.want)
			}
		}
	}
}
