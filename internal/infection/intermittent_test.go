package infection_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"sync"
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
)

// TestIntermittentConnectionConfirmsSighting: a device talks to a C2 for
// a moment between two check-ins, when no feed lists it. The agent's
// watch round, not a check-in, records the endpoint in the device's
// history. Later an outside report names the device's address and that
// C2 (and the C2 enters the bundle): the device, asked, confirms from
// its history and turns contraindicated, although the connection was
// never open at a check-in.
func TestIntermittentConnectionConfirmsSighting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c2 := startC2(t)
	port := c2.Addr().(*net.TCPAddr).Port

	var mu sync.Mutex
	clock := time.Now().UTC()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := keyring.Open(ctx, st, 4*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	a, err := authority.New(ctx, authority.Config{Issuer: issuer, CheckinInterval: 10 * time.Minute, IntelCacheTTL: -1},
		authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Status: st, Operations: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a.SetIntel(st)
	srv := &http.Server{Handler: a}
	go srv.Serve(ln)
	defer srv.Close()
	importFeodo(t, st, "192.0.2.10", 443, "Dridex") // a bundle that lists another C2

	ag := &agent.Agent{Store: agent.Store{Dir: t.TempDir()}, Checks: []checks.Check{malware.New()}, Source: source.NewLive(), Version: "test", Now: now}
	if _, err := ag.Enroll(ctx, issuer, ""); err != nil {
		t.Fatal(err)
	}
	var (
		sleeps   int
		conn     net.Conn
		talkedAt time.Time
		asked    []string
	)
	done := make(chan error, 1)
	go func() {
		done <- ag.Run(ctx, agent.RunOptions{
			Watch:  45 * time.Second,
			Jitter: func() float64 { return 0.5 },
			Sleep: func(ctx context.Context, d time.Duration) error {
				sleeps++
				switch sleeps {
				case 2: // between check-ins, the device calls the C2 …
					c, err := net.Dial("tcp", c2.Addr().String())
					if err != nil {
						t.Error(err)
						cancel()
					}
					conn, talkedAt = c, now()
				case 3: // … and hangs up before the next check-in.
					conn.(*net.TCPConn).SetLinger(0)
					conn.Close()
				case 4: // The report arrives; its C2 goes into the bundle.
					importFeodo(t, st, "127.0.0.1", port, "QakBot")
					_, asked, err = st.AddSighting(ctx, store.Sighting{IP: "127.0.0.1", SeenAt: talkedAt, Family: "QakBot", C2: c2.Addr().String(), Source: "test"}, time.Hour, now())
					if err != nil {
						t.Error(err)
						cancel()
					}
				}
				mu.Lock()
				clock = clock.Add(d)
				mu.Unlock()
				if l, err := ag.Store.LoadLast(); err == nil && l.Response.Verdict == health.Contraindicated || sleeps > 400 {
					cancel()
				}
				return ctx.Err()
			},
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 {
		t.Fatalf("devices asked %v, want the one device", asked)
	}
	last, err := ag.Store.LoadLast()
	if err != nil {
		t.Fatal(err)
	}
	if last.Response.Verdict != health.Contraindicated {
		t.Fatalf("verdict %s after %d sleeps; want contraindicated from the history the watch rounds kept", last.Response.Verdict, sleeps)
	}
	n, ok := ag.Notice()
	if !ok || n.Notice.Sighting == nil || n.Notice.Sighting.Endpoint != c2.Addr().String() {
		t.Fatalf("notice %+v, want the confirmed sighting of %s", n, c2.Addr())
	}
	// The device's own check found nothing at that check-in: the
	// connection was long gone.
	for _, o := range last.Outcomes {
		if o.ID == health.Malware && o.Status != health.Pass {
			t.Errorf("own malware check %s, want pass", o.Status)
		}
	}
}
