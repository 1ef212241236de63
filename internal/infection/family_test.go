package infection_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/malware"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
)

// TestSightingByFamilyOnly: a botnet-drone report names an address and a
// family but no C2. The device, asked, looks for the servers its signed
// bundle lists for that family in its own history: it talked to one
// (before any feed listed it), so it confirms and turns
// contraindicated, and its notice names that server. A report naming a
// family none of the indicators belongs to asks nobody: no device could
// confirm it.
func TestSightingByFamilyOnly(t *testing.T) {
	ctx := context.Background()
	c2 := startC2(t)
	st, issuer, _ := startIntelAuthority(t, ctx)
	importFeodo(t, st, "192.0.2.10", 443, "Dridex")
	ag := &agent.Agent{Store: agent.Store{Dir: t.TempDir()}, Checks: []checks.Check{malware.New()}, Source: source.NewLive(), Version: "test"}
	if _, err := ag.Enroll(ctx, issuer, ""); err != nil {
		t.Fatal(err)
	}
	checkIn := func() *agent.Last {
		t.Helper()
		last, err := ag.CheckIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return last
	}
	checkIn()
	conn, err := net.Dial("tcp", c2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if v := checkIn().Response.Verdict; v == health.Contraindicated {
		t.Fatalf("no feed lists the C2 yet, verdict %s", v)
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
	time.Sleep(50 * time.Millisecond)

	// A feed now lists the server as QakBot's; two drone reports name the
	// device's address, one for QakBot, one for another family, no C2.
	importFeodo(t, st, "127.0.0.1", c2.Addr().(*net.TCPAddr).Port, "QakBot")
	now := time.Now().UTC()
	for family, want := range map[string]int{"QakBot": 1, "Mirai": 0} {
		_, asked, err := st.AddSighting(ctx, store.Sighting{IP: "127.0.0.1", SeenAt: now, Family: family, Source: "shadowserver"}, time.Hour, now)
		if err != nil || len(asked) != want {
			t.Fatalf("AddSighting(%s) asked %v, %v; want %d devices", family, asked, err, want)
		}
	}
	var last *agent.Last
	for i := 0; i < 3; i++ {
		if last = checkIn(); last.Response.Verdict == health.Contraindicated {
			break
		}
	}
	if last.Response.Verdict != health.Contraindicated {
		t.Fatalf("verdict %s after the family's server was found in the history", last.Response.Verdict)
	}
	n, ok := ag.Notice()
	if !ok || n.Notice.Sighting == nil || n.Notice.Sighting.Endpoint != c2.Addr().String() || n.Notice.Sighting.Family != "QakBot" {
		t.Fatalf("notice %+v, want the QakBot server %s", n, c2.Addr())
	}
	state, _ := ag.Store.LoadState()
	conf, err := st.ConfirmedSince(ctx, state.DeviceID, now.Add(-time.Hour))
	if err != nil || len(conf) != 1 || conf[0].Family != "QakBot" {
		t.Errorf("confirmed %+v, %v; want the QakBot report only", conf, err)
	}
	if open, err := st.OpenQuestions(ctx, state.DeviceID); err != nil || len(open) != 0 {
		t.Errorf("open questions %+v, %v; both reports answered", open, err)
	}
}
