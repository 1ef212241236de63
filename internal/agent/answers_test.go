package agent

import (
	"net/netip"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/indicators"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/source"
)

// TestSightingAnswersOnlyAboutListedServers: a device confirms a
// sighting only from an endpoint its signed bundle lists, so a question
// about any other address learns nothing of its history; a question
// naming only a family is answered from that family's listed servers.
func TestSightingAnswersOnlyAboutListedServers(t *testing.T) {
	at := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	now := at
	a := &Agent{Store: Store{Dir: t.TempDir()}, Now: func() time.Time { return now }}
	// The device talked to a listed QakBot server, an unlisted address,
	// and the listed Emotet server on another port than listed.
	conns := []source.Connection{
		{Proto: "tcp", Local: "10.0.0.5:50001", Remote: "203.0.113.77:443", State: "ESTABLISHED"},
		{Proto: "tcp", Local: "10.0.0.5:50002", Remote: "198.51.100.50:443", State: "ESTABLISHED"},
		{Proto: "tcp", Local: "10.0.0.5:50003", Remote: "192.0.2.9:80", State: "ESTABLISHED"},
	}
	if err := a.observe(conns, true); err != nil {
		t.Fatal(err)
	}
	now = at.Add(2 * time.Hour)

	qs := []protocol.SightingQuestion{
		{ID: 1, C2: "203.0.113.77:443", Family: "QakBot"},
		{ID: 2, C2: "203.0.113.77"},
		{ID: 3, C2: "198.51.100.50:443"}, // in the history, listed by no feed
		{ID: 4, C2: "198.51.100.50"},
		{ID: 5, Family: "qakbot"},
		{ID: 6, Family: "Dridex"},
		{ID: 7, C2: "192.0.2.9"},       // listed on port 8080 only; seen on 80
		{ID: 8, Family: "Emotet"},      // the same
		{ID: 9, C2: "203.0.113.77:80"}, // listed, but not seen on that port
		// Family questions as the authority asks them: one name under
		// another spelling, and one that a stray C2 must not widen.
		{ID: 11, Match: protocol.MatchFamily, Family: "win.qakbot"},
		{ID: 12, Match: protocol.MatchFamily, Family: "Dridex", C2: "203.0.113.77:443"},
	}
	for i := range qs {
		qs[i].Around, qs[i].WindowSeconds = at, 3600
	}
	// Outside the window nothing confirms.
	qs = append(qs, protocol.SightingQuestion{ID: 10, C2: "203.0.113.77:443", Around: at.Add(-5 * time.Hour), WindowSeconds: 3600})
	if err := a.Store.writeJSONFile(questionsFile, qs); err != nil {
		t.Fatal(err)
	}
	seenOf := func() map[int64]string {
		out := map[int64]string{}
		for _, ans := range a.SightingAnswers() {
			if ans.Seen {
				out[ans.QuestionID] = ans.Endpoint
			}
		}
		return out
	}
	// No bundle: nothing is confirmed, whatever the history holds.
	if got := seenOf(); len(got) != 0 {
		t.Fatalf("without a bundle the device confirmed %v", got)
	}

	b := indicators.NewBuilder(4)
	for _, e := range []struct {
		addr   string
		port   uint16
		family string
	}{{"203.0.113.77", 443, "QakBot"}, {"192.0.2.9", 8080, "Emotet"}} {
		if err := b.AddAddr(netip.MustParseAddr(e.addr), e.port, indicators.Ref{Source: "feodotracker", Family: e.family}); err != nil {
			t.Fatal(err)
		}
	}
	a.Env.Indicators = b.Build()
	got := seenOf()
	want := map[int64]string{1: "203.0.113.77:443", 2: "203.0.113.77:443", 5: "203.0.113.77:443", 11: "203.0.113.77:443"}
	if len(got) != len(want) {
		t.Errorf("confirmed %v, want %v", got, want)
	}
	for id, ep := range want {
		if got[id] != ep {
			t.Errorf("question %d: confirmed by %q, want %q", id, got[id], ep)
		}
	}
	if n := len(a.SightingAnswers()); n != len(qs) {
		t.Errorf("%d answers for %d questions: every question is answered", n, len(qs))
	}
}
