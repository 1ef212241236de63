package agent

import (
	"context"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// listIndicator adds an address to the authority's indicators, as a feed
// or a sighting report's C2 does.
func listIndicator(t *testing.T, st any, typ, value string, port int, family string) {
	t.Helper()
	in, ok := st.(store.Intel)
	if !ok {
		t.Fatal("the store keeps no indicators")
	}
	if _, err := in.ImportIndicators(context.Background(), time.Now(), func(add func(store.Indicator) error) error {
		return add(store.Indicator{Type: typ, Value: value, Port: port, Sources: []string{"test"}, Family: family, LastSeen: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
}

func TestWithSighting(t *testing.T) {
	until := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	n := &protocol.Notice{Verdict: string(health.Contraindicated),
		Sighting: &protocol.NoticeSighting{Endpoint: "192.0.2.7:443", SeenAt: until.Add(-72 * time.Hour), Until: until}}
	f, ok := sightingFinding(n, i18n.English)
	if !ok || f.Until != until || f.Source != "sighting" {
		t.Fatalf("finding %+v, %v", f, ok)
	}
	if _, ok := sightingFinding(&protocol.Notice{Verdict: string(health.Contraindicated)}, i18n.English); ok {
		t.Error("a notice without a sighting gave a finding")
	}
	pass := health.Result{ID: health.Malware, Status: health.Pass, Reason: "No known malware was found."}
	fail := health.Result{ID: health.Malware, Status: health.Fail, Reason: "Connected to a listed C2."}
	fw := health.Result{ID: health.Firewall, Status: health.Pass}
	for _, c := range []struct {
		name       string
		in         []health.Result
		wantReason string
		wantLen    int
	}{
		{"local pass replaced", []health.Result{fw, pass}, f.Reason, 2},
		{"local fail kept", []health.Result{fail, fw}, fail.Reason, 2},
		{"no malware row appended", []health.Result{fw}, f.Reason, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := WithSighting(c.in, f, i18n.English)
			if len(out) != c.wantLen {
				t.Fatalf("%d results, want %d", len(out), c.wantLen)
			}
			for _, r := range out {
				if r.ID == health.Malware && (r.Status != health.Fail || r.Reason != c.wantReason) {
					t.Errorf("malware %s %q, want fail %q", r.Status, r.Reason, c.wantReason)
				}
			}
		})
	}
	if out := WithSighting([]health.Result{pass}, nil, i18n.English); out[0].Status != health.Pass {
		t.Error("without a finding the results changed")
	}
}
