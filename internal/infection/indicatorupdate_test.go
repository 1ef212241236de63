package infection_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/malware"
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// importFeodo imports a Feodo Tracker CSV listing addr:port.
func importFeodo(t *testing.T, st *sqlite.Store, addr string, port int, family string) int64 {
	t.Helper()
	feed := "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n" +
		"\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n" +
		fmt.Sprintf("\"2026-11-01 10:00:00\",\"%s\",\"%d\",\"online\",\"2026-11-30\",\"%s\"\n", addr, port, family)
	res, _, err := intel.Load(context.Background(), st, strings.NewReader(feed), "feodo.csv", intel.Options{}, time.Now(), nil)
	if err != nil || res.Total() != 1 {
		t.Fatalf("import %+v, %v", res, err)
	}
	v, err := st.LiveIndicators(context.Background(), nil, func(store.Indicator) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestIndicatorUpdateBetweenCheckins: a device already talking to a C2
// no feed knew of learns of it when the authority imports a new
// indicator while the agent runs: the agent asks for indicator updates
// between check-ins with its token, re-runs the malware check with the
// new bundle at once and checks in contraindicated, long before its next
// scheduled check-in.
func TestIndicatorUpdateBetweenCheckins(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	go func() {
		for {
			c, err := c2.Accept()
			if err != nil {
				return
			}
			go func() { buf := make([]byte, 1); c.Read(buf); c.Close() }()
		}
	}()
	port := c2.Addr().(*net.TCPAddr).Port

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
	// The authority and the agent share a clock the agent's sleeps move.
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	a, err := authority.New(ctx, authority.Config{Issuer: issuer}, authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Status: st, Operations: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a.SetIntel(st)
	srv := &http.Server{Handler: a}
	go srv.Serve(ln)
	defer srv.Close()

	// A bundle exists, but lists another C2.
	importFeodo(t, st, "192.0.2.10", 443, "Dridex")

	ag := &agent.Agent{Store: agent.Store{Dir: t.TempDir()}, Checks: []checks.Check{malware.New()}, Source: source.NewLive(), Version: "test", Now: now}
	if _, err := ag.Enroll(ctx, issuer, ""); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", c2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var sleeps int
	const importAt = 5
	var newVersion int64
	var verdicts []health.Tier
	var runErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		runErr = ag.Run(ctx, agent.RunOptions{
			Interval:       4 * time.Hour,
			Watch:          45 * time.Second,
			IndicatorEvery: 15 * time.Minute,
			Jitter:         func() float64 { return 0.5 },
			Sleep: func(ctx context.Context, d time.Duration) error {
				if l, err := ag.Store.LoadLast(); err == nil && l != nil {
					if n := len(verdicts); n == 0 || verdicts[n-1] != l.Response.Verdict || sleeps == 1 {
						verdicts = append(verdicts, l.Response.Verdict)
					}
				}
				sleeps++
				if sleeps == importAt {
					// Once the agent has settled, the authority learns of
					// the C2.
					newVersion = importFeodo(t, st, "127.0.0.1", port, "QakBot")
				}
				mu.Lock()
				clock = clock.Add(d)
				mu.Unlock()
				if sleeps > importAt+30 || (len(verdicts) > 0 && verdicts[len(verdicts)-1] == health.Contraindicated) {
					cancel()
				}
				return ctx.Err()
			},
		})
	}()
	<-done
	if runErr != nil {
		t.Fatal(runErr)
	}
	if len(verdicts) < 2 || verdicts[0] == health.Contraindicated || verdicts[len(verdicts)-1] != health.Contraindicated {
		t.Fatalf("verdicts %v over %d sleeps; want clean, then contraindicated", verdicts, sleeps)
	}
	if ag.Env.Indicators.Version() != newVersion {
		t.Errorf("agent holds bundle %d, want %d", ag.Env.Indicators.Version(), newVersion)
	}
	// 15 minutes (the update interval, in 45 s watch steps) and one more
	// round at most: nowhere near the scheduled check-in.
	if elapsed := time.Duration(sleeps-importAt) * 45 * time.Second; elapsed > 16*time.Minute {
		t.Errorf("contraindicated after %s of agent time, want within about 15 minutes", elapsed)
	}
}
