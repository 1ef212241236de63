package infection_test

import (
	"context"
	"net"
	"testing"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/malware"
	"github.com/herd-health/herd/internal/source"
)

// TestBundleSignedES256: once the authority signs with an ES256 key, an
// agent that held an EdDSA-signed bundle takes the ES256-signed update,
// and a new agent its first bundle; both then find the C2 the update
// listed.
func TestBundleSignedES256(t *testing.T) {
	ctx := context.Background()
	c2 := startC2(t)
	st, issuer, keys := startIntelAuthority(t, ctx)
	importFeodo(t, st, "192.0.2.10", 443, "Dridex")

	newAgent := func() *agent.Agent {
		ag := &agent.Agent{Store: agent.Store{Dir: t.TempDir()}, Checks: []checks.Check{malware.New()}, Source: source.NewLive(), Version: "test"}
		if _, err := ag.Enroll(ctx, issuer, ""); err != nil {
			t.Fatal(err)
		}
		return ag
	}
	old := newAgent()
	if _, err := old.CheckIn(ctx); err != nil {
		t.Fatal(err)
	}
	v1 := old.Env.Indicators.Version()
	if v1 == 0 {
		t.Fatal("no EdDSA-signed bundle taken")
	}

	kid, err := keys.Rotate(ctx, healthcert.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if _, now := keys.Signer(); now != kid {
		t.Fatalf("the authority signs with %s, not the new ES256 key %s", now, kid)
	}
	v2 := importFeodo(t, st, "127.0.0.1", c2.Addr().(*net.TCPAddr).Port, "QakBot")
	conn, err := net.Dial("tcp", c2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	for name, ag := range map[string]*agent.Agent{"update": old, "first bundle": newAgent()} {
		t.Run(name, func(t *testing.T) {
			// The check-in answer offers v2; the agent downloads it,
			// verifies the ES256 signature and keeps it; the next
			// check-in is judged against it.
			if _, err := ag.CheckIn(ctx); err != nil {
				t.Fatal(err)
			}
			if got := ag.Env.Indicators.Version(); got != v2 {
				t.Fatalf("agent holds bundle %d after the ES256 rotation, want %d", got, v2)
			}
			last, err := ag.CheckIn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if last.Response.Verdict != health.Contraindicated {
				t.Errorf("verdict %s with the ES256-signed bundle listing the C2, want contraindicated", last.Response.Verdict)
			}
			// The kept bundle loads again (its seal is the agent's own).
			again := &agent.Agent{Store: ag.Store}
			if err := again.LoadIndicators(); err != nil || again.Env.Indicators.Version() != v2 {
				t.Errorf("kept bundle: %v, version %d", err, again.Env.Indicators.Version())
			}
		})
	}
}
