package infection_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/malware"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
	"github.com/herd-health/herd/internal/webhook"
)

// TestSightingBehindNAT: two devices check in from one address
// (127.0.0.1 stands in for a home router); an outside report says that
// address talked to a C2. Both are asked; only the device whose own
// history shows a connection to that C2 around that time turns
// contraindicated. The other is never accused and told nothing: no
// notice, no webhook.
func TestSightingBehindNAT(t *testing.T) {
	ctx := context.Background()
	// The C2: it holds each connection until release is closed, then
	// closes its side first, so the device's side never lingers in
	// TIME_WAIT naming the C2.
	c2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	release := make(chan struct{})
	go func() {
		for {
			c, err := c2.Accept()
			if err != nil {
				return
			}
			go func() { <-release; c.Close() }()
		}
	}()

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := keyring.Open(ctx, st, 4*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	a, err := authority.New(ctx, authority.Config{Issuer: issuer}, authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Status: st, Operations: st})
	if err != nil {
		t.Fatal(err)
	}
	a.SetIntel(st)
	srv := &http.Server{Handler: a}
	go srv.Serve(ln)
	defer srv.Close()

	const aud = "https://bank.test"
	var hooks atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hooks.Add(1)
	}))
	defer receiver.Close()
	if err := st.AddRelyingParty(ctx, store.RelyingParty{Audience: aud, WebhookURL: receiver.URL, Secret: []byte("0123456789abcdef0123456789abcdef"), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	dispatcher := webhook.NewDispatcher(webhook.Config{}, st, nil, slog.New(slog.DiscardHandler), time.Now)

	newAgent := func() *agent.Agent {
		ag := &agent.Agent{Store: agent.Store{Dir: t.TempDir()}, Checks: []checks.Check{malware.New()}, Source: source.NewLive(), Version: "test"}
		if _, err := ag.Enroll(ctx, issuer, ""); err != nil {
			t.Fatal(err)
		}
		s, err := ag.Store.LoadState()
		if err != nil {
			t.Fatal(err)
		}
		s.Trust(aud)
		if err := ag.Store.SaveState(s); err != nil {
			t.Fatal(err)
		}
		return ag
	}
	checkIn := func(name string, ag *agent.Agent) *agent.Last {
		t.Helper()
		last, err := ag.CheckIn(ctx)
		if err != nil {
			t.Fatalf("%s: check-in: %v", name, err)
		}
		return last
	}
	infected, neighbour := newAgent(), newAgent()
	if v := checkIn("neighbour", neighbour).Response.Verdict; v == health.Contraindicated {
		t.Fatalf("neighbour is %s before any report", v)
	}
	checkIn("infected", infected)

	// The infected device talks to the C2 while it checks in, so its own
	// history (kept on the device) records the endpoint.
	conn, err := net.Dial("tcp", c2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if v := checkIn("infected", infected).Response.Verdict; v == health.Contraindicated {
		t.Fatalf("no indicator lists the C2, yet the device is %s", v)
	}
	close(release)
	io.Copy(io.Discard, conn)
	conn.Close()
	time.Sleep(100 * time.Millisecond)

	// The outside report: 127.0.0.1 talked to the C2 just now.
	_, asked, err := st.AddSighting(ctx, store.Sighting{IP: "127.0.0.1", SeenAt: time.Now().UTC(), Family: "QakBot", C2: c2.Addr().String(), Source: "test"}, time.Hour, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	// As herd sightings import does, the report's C2 goes into the
	// indicator bundle: a device answers only about listed servers.
	importFeodo(t, st, "127.0.0.1", c2.Addr().(*net.TCPAddr).Port, "QakBot")
	iState, _ := infected.Store.LoadState()
	nState, _ := neighbour.Store.LoadState()
	if len(asked) != 2 || !(asked[0] == iState.DeviceID || asked[1] == iState.DeviceID) || !(asked[0] == nState.DeviceID || asked[1] == nState.DeviceID) {
		t.Fatalf("devices asked = %v, want both devices behind the address", asked)
	}

	// Each device gets its question at its next check-in and answers it
	// at the one after.
	for i := 0; i < 2; i++ {
		// The neighbour now holds the bundle listing the C2 (its verdict
		// may change with what a bundle requires), but is never accused.
		if l := checkIn("neighbour", neighbour); l.Response.Verdict == health.Contraindicated || l.Response.Notice != "" {
			t.Fatalf("neighbour check-in %d: verdict %s, notice %q (%+v)", i, l.Response.Verdict, l.Response.Notice, l.Outcomes)
		}
		checkIn("infected", infected)
	}
	last := checkIn("infected", infected)
	if last.Response.Verdict != health.Contraindicated {
		t.Fatalf("the device whose history shows the C2 is %s, want contraindicated", last.Response.Verdict)
	}
	if n, ok := infected.Notice(); !ok || n.Notice.DeviceID != iState.DeviceID {
		t.Errorf("the infected device shows no verified notice: %+v", n)
	}
	nl := checkIn("neighbour", neighbour)
	if nl.Response.Verdict == health.Contraindicated || nl.Response.Notice != "" || len(nl.Response.Questions) != 0 {
		t.Errorf("neighbour: verdict %s, notice %q, open questions %d", nl.Response.Verdict, nl.Response.Notice, len(nl.Response.Questions))
	}
	if _, ok := neighbour.Notice(); ok {
		t.Error("the neighbour was shown a notice")
	}
	conf, err := st.ConfirmedSince(ctx, nState.DeviceID, time.Now().Add(-24*time.Hour))
	if err != nil || len(conf) != 0 {
		t.Errorf("neighbour confirmed sightings: %+v, %v", conf, err)
	}
	if sent, err := dispatcher.RunOnce(ctx); err != nil || sent != 1 || hooks.Load() != 1 {
		t.Errorf("webhooks: %d sent (%d received), %v; want exactly the infected device's one", sent, hooks.Load(), err)
	}
}
