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
