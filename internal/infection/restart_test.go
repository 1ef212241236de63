package infection_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
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
	"github.com/herd-health/herd/internal/store/sqlite"
)

// startC2 is a loopback listener standing in for a botnet's server.
func startC2(t *testing.T) net.Listener {
	t.Helper()
	c2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c2.Close() })
	go func() {
		for {
			c, err := c2.Accept()
			if err != nil {
				return
			}
			go func() { c.Read(make([]byte, 1)); c.Close() }()
		}
	}()
	return c2
}

// startIntelAuthority serves an authority with indicator bundles on
// SQLite over loopback.
func startIntelAuthority(t *testing.T, ctx context.Context) (*sqlite.Store, string, *keyring.Keyring) {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
	t.Cleanup(func() { srv.Close() })
	return st, issuer, keys
}

// TestRestartedAgentUsesKeptBundle: an agent started again (the service
// restarted, the machine rebooted) while its device talks to a listed
// C2 is contraindicated on its very first check-in: the bundle it kept
// on disk judges its first checks, it does not wait for a download.
func TestRestartedAgentUsesKeptBundle(t *testing.T) {
	ctx := context.Background()
	c2 := startC2(t)
	st, issuer, _ := startIntelAuthority(t, ctx)
	importFeodo(t, st, "127.0.0.1", c2.Addr().(*net.TCPAddr).Port, "QakBot")

	dir := t.TempDir()
	newAgent := func() *agent.Agent {
		return &agent.Agent{Store: agent.Store{Dir: dir}, Checks: []checks.Check{malware.New()}, Source: source.NewLive(), Version: "test"}
	}
	first := newAgent()
	if _, err := first.Enroll(ctx, issuer, ""); err != nil {
		t.Fatal(err)
	}
	if last, err := first.CheckIn(ctx); err != nil || last.Response.Verdict == health.Contraindicated {
		t.Fatalf("clean first check-in: %v, %v", last, err)
	}
	if first.Env.Indicators.Version() == 0 {
		t.Fatal("no bundle kept after the first check-in")
	}

	conn, err := net.Dial("tcp", c2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	t.Run("run", func(t *testing.T) {
		ag := newAgent()
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		err := ag.Run(runCtx, agent.RunOptions{Watch: -1, IndicatorEvery: -1,
			Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }})
		if err != nil {
			t.Fatal(err)
		}
		last, err := ag.Store.LoadLast()
		if err != nil {
			t.Fatal(err)
		}
		if last.Response.Verdict != health.Contraindicated {
			t.Errorf("first check-in after the restart: %s, want contraindicated (checks %+v)", last.Response.Verdict, last.Outcomes)
		}
	})
	t.Run("check-in", func(t *testing.T) {
		last, err := newAgent().CheckIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if last.Response.Verdict != health.Contraindicated {
			t.Errorf("first check-in of a new agent: %s, want contraindicated", last.Response.Verdict)
		}
	})
}
