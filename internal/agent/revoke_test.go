package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/source"
)

// After the authority revokes the device's certificates, a watch round
// finds it in the status list, the revoked certificate is no longer
// served, and the agent checks in at once for a fresh one.
func TestRunRenewsRevokedCertificate(t *testing.T) {
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	auth := startAuthority(t, clk, 4*time.Hour)
	snap := testSnapshot(clk.Now())
	a := enrolledAgent(t, clk, auth, source.NewReplay(snap), []checks.Check{newFileCheck(health.Firewall, "/fw", 0)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first, second string
	var stateAfterRevoke string
	var served error
	n := 0
	sleep := func(ctx context.Context, d time.Duration) error {
		n++
		l, err := a.Store.LoadLast()
		if err != nil {
			t.Fatal(err)
		}
		tok := l.Response.Certificates[0].Token
		switch n {
		case 1:
			first = tok
			st, _ := a.Store.LoadState()
			if c, err := auth.n.Authority.Revoke(ctx, st.DeviceID, "test"); err != nil || c == 0 {
				t.Fatalf("Revoke: %d, %v", c, err)
			}
			if revoked, err := a.CheckRevocation(ctx); err != nil || !revoked {
				t.Fatalf("CheckRevocation: %v, %v", revoked, err)
			}
			stateAfterRevoke = a.CertificateState(l.Response.Certificates[0])
			_, served = a.Certificate("shop.example")
		case 2:
			second = tok
			cancel()
			return ctx.Err()
		}
		clk.Add(d)
		return nil
	}
	err := a.Run(ctx, RunOptions{Interval: time.Hour, Watch: 45 * time.Second, StatusEvery: time.Minute,
		Sleep: sleep, Jitter: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	if stateAfterRevoke != CertRevoked {
		t.Errorf("state after revocation %q, want revoked", stateAfterRevoke)
	}
	if served == nil || !strings.Contains(served.Error(), "revoked") {
		t.Errorf("a revoked certificate was served (err %v)", served)
	}
	if second == "" || second == first {
		t.Fatalf("no fresh certificate after revocation (sleeps %d)", n)
	}
	c, err := a.Certificate("shop.example")
	if err != nil || c.Token != second {
		t.Errorf("Certificate after renewal: %v", err)
	}
	if s := a.CertificateState(c); s != CertValid {
		t.Errorf("fresh certificate state %q", s)
	}
}

// A trust or untrust while run waits checks in at once, and a failed
// check-in is kept for status until one succeeds.
func TestRunChecksInWhenRelyingPartiesChange(t *testing.T) {
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	auth := startAuthority(t, clk, 4*time.Hour)
	snap := testSnapshot(clk.Now())
	a := enrolledAgent(t, clk, auth, source.NewReplay(snap), []checks.Check{newFileCheck(health.Firewall, "/fw", 0)})
	// An audience the authority refuses (longer than it accepts).
	st, _ := a.Store.LoadState()
	st.Trust("https://" + strings.Repeat("a", 300) + ".example")
	if err := a.Store.SaveState(st); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var failed *CheckinError
	n := 0
	sleep := func(ctx context.Context, d time.Duration) error {
		n++
		switch n {
		case 1:
			failed = a.Store.LoadCheckinError()
			st, _ := a.Store.LoadState()
			st.Untrust(st.RelyingParties[1].Audience)
			time.Sleep(10 * time.Millisecond) // a different mtime
			if err := a.Store.SaveState(st); err != nil {
				t.Fatal(err)
			}
		case 2:
			cancel()
			return ctx.Err()
		}
		clk.Add(d)
		return nil
	}
	if err := a.Run(ctx, RunOptions{Interval: time.Hour, Watch: 45 * time.Second, MinBackoff: 10 * time.Minute,
		Sleep: sleep, Jitter: func() float64 { return 0.5 }}); err != nil {
		t.Fatal(err)
	}
	if failed == nil || !strings.Contains(failed.Error, "bad_statement") || failed.At.IsZero() {
		t.Fatalf("kept check-in error %+v, want bad_statement", failed)
	}
	// The untrust was noticed after one 45 s step of a 5 min backoff.
	l, err := a.Store.LoadLast()
	if err != nil {
		t.Fatalf("no check-in after untrust: %v", err)
	}
	if len(l.Response.Certificates) != 1 || l.Response.Certificates[0].Audience != "shop.example" {
		t.Errorf("certificates %+v", l.Response.Certificates)
	}
	if e := a.Store.LoadCheckinError(); e != nil {
		t.Errorf("check-in error kept after success: %+v", e)
	}
}

func TestValidAudience(t *testing.T) {
	for _, c := range []struct {
		aud string
		ok  bool
	}{
		{"shop.example", true},
		{"https://bank.example", true},
		{"https://bank.example/login", true},
		{"urn:example:bank", true},
		{"tag:bank.example,2026:web", true},
		{"", false},
		{"https://" + strings.Repeat("a", 5000) + ".example", false},
		{"https://" + strings.Repeat("a", 240) + ".example", true},
		{"javascript:alert(1)", false},
		{"data:text/html,hi", false},
		{"file:///etc/passwd", false},
		{"https://", false},
		{"https://user:pw@bank.example", false},
		{"shop\x07.example", false},
		{"shop .example", false},
		{"urn:", false},
		// The authority's rule: plain http only to loopback.
		{"http://bank.example", false},
		{"http://127.0.0.1:8080", true},
		{"https://bank.example#frag", false},
	} {
		t.Run(c.aud[:min(len(c.aud), 40)], func(t *testing.T) {
			if err := ValidAudience(c.aud); (err == nil) != c.ok {
				t.Errorf("ValidAudience(%q) = %v, want ok %v", c.aud, err, c.ok)
			}
		})
	}
}
