package authority_test

import (
	"context"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// A sighting that names no C2 (a drone report without the server) asks
// the devices behind the address about the family: the question says
// match "family" with no C2, so the agent looks in its history for an
// address its bundle lists for that family; a device answering with such
// an endpoint is contraindicated, one answering no is not. A family the
// indicators hold no address of asks nobody.
func TestSightingFamilyQuestion(t *testing.T) {
	e := newEnv(t, authority.Config{IntelCacheTTL: -1})
	is := e.store.(authority.IntelStore)
	e.auth.SetIntel(is)
	ctx := context.Background()
	yes, no := e.enroll(), e.enroll()
	checkin := func(d device, answers ...health.SightingAnswer) protocol.CheckinResponse {
		t.Helper()
		st := e.statement(d, e.nonce(), healthy)
		st.Checks = append(st.Checks, health.Result{ID: health.Malware, Status: health.Pass, Reason: "test", Evidence: health.Evidence{Source: "test", Trust: health.OSReported}})
		st.Sightings = answers
		var resp protocol.CheckinResponse
		if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(t, d, st), &resp); code != 200 {
			t.Fatalf("check-in: %d %v", code, perr)
		}
		return resp
	}
	checkin(yes)
	checkin(no)
	if _, err := is.ImportIndicators(ctx, e.clock.Now(), func(add func(store.Indicator) error) error {
		return add(store.Indicator{Type: "ipv4", Value: "198.51.100.9", Port: 443, Sources: []string{"threatfox"}, Family: "win.qakbot"})
	}); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	imp, err := is.ImportSightings(ctx, now, time.Hour, func(add func(store.Sighting) error) error {
		if err := add(store.Sighting{IP: "127.0.0.1", SeenAt: now, Family: "qakbot", Source: "shadowserver"}); err != nil {
			return err
		}
		return add(store.Sighting{IP: "127.0.0.1", SeenAt: now, Family: "nobodyknowsbot", Source: "shadowserver"})
	})
	if err != nil || imp.Questions != 2 || imp.NotAsked != 1 {
		t.Fatalf("ImportSightings = %+v, %v; want both devices asked about qakbot, nobody about the other", imp, err)
	}
	ask := func(d device) protocol.SightingQuestion {
		t.Helper()
		r := checkin(d)
		if len(r.Questions) != 1 {
			t.Fatalf("questions %+v, want one", r.Questions)
		}
		q := r.Questions[0]
		if q.Match != protocol.MatchFamily || q.C2 != "" || q.Family != "qakbot" || !q.Around.Equal(now) || q.WindowSeconds != 3600 {
			t.Fatalf("question %+v; want a family question about qakbot", q)
		}
		return q
	}
	qy, qn := ask(yes), ask(no)
	r := checkin(yes, health.SightingAnswer{QuestionID: qy.ID, Seen: true, Endpoint: "198.51.100.9:443", SeenAt: now})
	if r.Verdict != health.Contraindicated {
		t.Errorf("device whose history shows the family's C2: %s, want contraindicated", r.Verdict)
	}
	if r := checkin(no, health.SightingAnswer{QuestionID: qn.ID, Seen: false}); r.Verdict == health.Contraindicated || len(r.Questions) != 0 {
		t.Errorf("device whose history does not: %s with %d questions, want not contraindicated and no question", r.Verdict, len(r.Questions))
	}
}
