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

// With IntelCacheTTL set, a node reads whether any sighting question is
// open at most once per TTL: a question added by another process reaches
// the device after the TTL, not before; a confirmed answer takes effect
// on this node at once.
func TestIntelCacheTTL(t *testing.T) {
	e := newEnv(t, authority.Config{IntelCacheTTL: 2 * time.Second})
	is := e.store.(authority.IntelStore)
	e.auth.SetIntel(is)
	d := e.enroll()
	checkin := func(answers ...health.SightingAnswer) protocol.CheckinResponse {
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
	if r := checkin(); len(r.Questions) != 0 || r.Verdict == health.Contraindicated {
		t.Fatalf("first check-in: %d questions, verdict %s", len(r.Questions), r.Verdict)
	}
	now := e.clock.Now()
	_, asked, err := is.AddSighting(context.Background(), store.Sighting{IP: "127.0.0.1", SeenAt: now, Family: "QakBot", C2: "198.51.100.9:443", Source: "test"}, time.Hour, now)
	if err != nil || len(asked) != 1 || asked[0] != d.id {
		t.Fatalf("AddSighting asked %v, %v", asked, err)
	}
	e.clock.Add(time.Second)
	if r := checkin(); len(r.Questions) != 0 {
		t.Fatalf("within the TTL the node still holds that no question is open, got %d questions", len(r.Questions))
	}
	e.clock.Add(2 * time.Second)
	r := checkin()
	if len(r.Questions) != 1 || r.Questions[0].C2 != "198.51.100.9:443" {
		t.Fatalf("after the TTL: questions %+v, want the one asked", r.Questions)
	}
	// The device confirms; the same check-in and the next one see it,
	// although the node's flag was read within the TTL.
	ans := health.SightingAnswer{QuestionID: r.Questions[0].ID, Seen: true, Endpoint: "198.51.100.9:443", SeenAt: now}
	if r := checkin(ans); r.Verdict != health.Contraindicated {
		t.Fatalf("answering check-in: verdict %s, want contraindicated", r.Verdict)
	}
	if r := checkin(); r.Verdict != health.Contraindicated {
		t.Fatalf("next check-in: verdict %s, want contraindicated (confirmed sighting held)", r.Verdict)
	}
}
