package infection_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/malware"
	"github.com/herd-health/herd/internal/demo"
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
	"github.com/herd-health/herd/internal/webhook"
	"github.com/herd-health/herd/verify"
)

// TestInfectionEndToEnd: a feed lists a loopback C2; the authority
// imports it; the real agent with the real malware check and the live
// system gets the signed bundle at check-in, connects to the C2, turns
// contraindicated with a notice signed by the authority; its old
// certificate is revoked, the relying party that has seen it receives
// the signed webhook and the demo shop keeps it to the help pages; once
// the connection is closed a clean check-in restores it with a new
// certificate that verifies, while the old one stays revoked.
func TestInfectionEndToEnd(t *testing.T) {
	ctx := context.Background()
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
	a, err := authority.New(ctx, authority.Config{Issuer: issuer}, authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Status: st, Operations: st})
	if err != nil {
		t.Fatal(err)
	}
	a.SetIntel(st)
	srv := &http.Server{Handler: a}
	go srv.Serve(ln)
	defer srv.Close()

	// The feed: Feodo Tracker's CSV layout, listing the loopback C2.
	feed := "################################################################\n# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n################################################################\n" +
		"\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n" +
		fmt.Sprintf("\"2026-11-01 10:00:00\",\"127.0.0.1\",\"%d\",\"online\",\"2026-11-30\",\"QakBot\"\n", port)
	res, err := st.ImportIndicators(ctx, time.Now(), func(add func(store.Indicator) error) error {
		_, err := intel.Import(strings.NewReader(feed), "feodo.csv", intel.Options{Emit: func(in intel.Indicator) error {
			return add(store.Indicator{Type: string(in.Type), Value: in.Value, Port: int(in.Port), Sources: []string{in.Source}, Family: in.Family, FirstSeen: in.FirstSeen, LastSeen: in.LastSeen})
		}})
		return err
	})
	if err != nil || res.Added != 1 || res.Version != 1 {
		t.Fatalf("import = %+v, %v; want one indicator, version 1", res, err)
	}

	// The relying party: a webhook receiver registered with the
	// authority, and the demo shop verifying certificates (with status).
	const aud = "https://shop.test"
	secret := []byte("0123456789abcdef0123456789abcdef")
	hooks := make(chan *http.Request, 4)
	hookBodies := make(chan []byte, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- r
		hookBodies <- b
	}))
	defer receiver.Close()
	if err := st.AddRelyingParty(ctx, store.RelyingParty{Audience: aud, WebhookURL: receiver.URL, Secret: secret, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	dispatcher := webhook.NewDispatcher(webhook.Config{}, st, nil, slog.New(slog.DiscardHandler), time.Now)
	// verifier makes a relying party's verifier with a fresh status
	// checker, so a revocation is seen at once.
	verifier := func(t *testing.T) *verify.Verifier {
		t.Helper()
		opts := verify.Options{Issuer: issuer, Audience: aud, JWKSURL: issuer + protocol.PathJWKS, CacheSize: -1}
		sc, err := verify.NewStatusChecker(opts)
		if err != nil {
			t.Fatal(err)
		}
		opts.Status = sc
		v, err := verify.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	shopCall := func(t *testing.T, method, path, cert string) int {
		t.Helper()
		shop := &demo.Shop{Audience: aud, Verifier: verifier(t), Rules: demo.DefaultRules(), DeviceOS: "linux"}
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set(healthcert.HTTPHeader, cert)
		rec := httptest.NewRecorder()
		shop.Handler().ServeHTTP(rec, req)
		return rec.Code
	}

	ag := &agent.Agent{Store: agent.Store{Dir: t.TempDir()}, Checks: []checks.Check{malware.New()}, Source: source.NewLive(), Version: "test"}
	if _, err := ag.Enroll(ctx, issuer, ""); err != nil {
		t.Fatal(err)
	}
	state, err := ag.Store.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	state.Trust(aud)
	if err := ag.Store.SaveState(state); err != nil {
		t.Fatal(err)
	}
	// First check-in: no bundle yet; the answer offers version 1.
	last, err := ag.CheckIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last.Response.Indicators == nil || last.Response.Indicators.Version != 1 {
		t.Fatalf("offer = %+v, want version 1", last.Response.Indicators)
	}
	if ag.Env.Indicators.Version() != 1 {
		t.Fatalf("agent holds bundle version %d after check-in, want 1", ag.Env.Indicators.Version())
	}
	if m, ok := ag.Env.Indicators.MatchAddr(c2.Addr().(*net.TCPAddr).AddrPort().Addr(), uint16(port)); !ok || m.Family != "QakBot" {
		t.Fatalf("bundle does not match the C2: %+v", m)
	}
	if v := last.Response.Verdict; v == health.Contraindicated {
		t.Fatalf("clean device is %s", v)
	}
	oldCert, err := ag.Certificate(aud)
	if err != nil {
		t.Fatal(err)
	}
	oldClaims, err := verifier(t).Verify(ctx, oldCert.Token)
	if err != nil {
		t.Fatalf("the clean device's certificate does not verify: %v", err)
	}
	if code := shopCall(t, http.MethodPost, "/pay?continue=yes", oldCert.Token); code == http.StatusForbidden {
		t.Fatalf("clean device: /pay %d", code)
	}

	conn, err := net.Dial("tcp", c2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	last, err = ag.CheckIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last.Response.Verdict != health.Contraindicated {
		t.Fatalf("connected to the C2, verdict %s, want contraindicated (checks %+v)", last.Response.Verdict, last.Outcomes)
	}
	n, ok := ag.Notice()
	if !ok || !strings.Contains(n.Notice.Title.EN, "infected") || n.Notice.Title.ZH == "" || len(n.Notice.Steps) == 0 {
		t.Fatalf("no verified notice kept: %+v", n)
	}

	// The old certificate is revoked.
	if _, err := verifier(t).Verify(ctx, oldCert.Token); !errors.Is(err, verify.ErrRevoked) {
		t.Errorf("old certificate after contraindicated: %v, want revoked", err)
	}
	// The relying party that has seen the device gets one signed event.
	if sent, err := dispatcher.RunOnce(ctx); err != nil || sent != 1 {
		t.Fatalf("webhook dispatch: %d sent, %v; want 1", sent, err)
	}
	req, body := <-hooks, <-hookBodies
	if err := verify.WebhookSignature(secret, req.Header.Get(verify.WebhookSignatureHeader), body, time.Now(), 0); err != nil {
		t.Errorf("webhook signature: %v", err)
	}
	if err := verify.WebhookSignature([]byte("another secret, another relying p"), req.Header.Get(verify.WebhookSignatureHeader), body, time.Now(), 0); err == nil {
		t.Error("webhook verified with the wrong secret")
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Type != webhook.TypeContraindicated || ev.Audience != aud || ev.Subject != oldClaims.Claims.Subject {
		t.Errorf("webhook event %+v (%v); want contraindicated for %s, subject %s", ev, err, aud, oldClaims.Claims.Subject)
	}
	// The shop restricts the device to the help pages.
	sickCert, err := ag.Certificate(aud)
	if err != nil {
		t.Fatal(err)
	}
	if code := shopCall(t, http.MethodPost, "/pay?continue=yes", sickCert.Token); code != http.StatusForbidden {
		t.Errorf("contraindicated device: /pay?continue=yes %d, want 403 (restricted)", code)
	}
	if code := shopCall(t, http.MethodGet, "/help/malware", sickCert.Token); code != http.StatusOK {
		t.Errorf("contraindicated device: /help/malware %d, want 200", code)
	}
	// The connection ends with a reset: closed normally from this side it
	// would stay a minute in TIME_WAIT, which the check counts (a beacon
	// that calls for a moment every few minutes is seen there).
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
	time.Sleep(100 * time.Millisecond)

	// A forged notice (signed by another key) is never shown.
	state, _ = ag.Store.LoadState()
	forger, _, _ := ed25519Key()
	kid := keys.JWKS().Keys[0].Kid
	forged, _ := healthcert.SignCompact(forger, kid, protocol.NoticeType, []byte(`{"iss":"`+state.Discovery.Issuer+`","sub":"`+state.DeviceID+`","exp":9999999999,"title":{"en":"pay here"}}`))
	if _, err := ag.VerifyNotice(ctx, state, forged); err == nil {
		t.Fatal("a notice signed by another key verified")
	}

	last, err = ag.CheckIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := last.Response.Verdict; v != health.Affirming && v != health.Warning {
		t.Fatalf("after closing the connection the verdict is %s, want affirming or warning", v)
	}
	if _, ok := ag.Notice(); ok {
		t.Error("the notice is still shown after a clean check-in")
	}
	newCert, err := ag.Certificate(aud)
	if err != nil {
		t.Fatal(err)
	}
	if newCert.Token == oldCert.Token || newCert.Token == sickCert.Token {
		t.Fatal("no new certificate after the clean check-in")
	}
	if res, err := verifier(t).Verify(ctx, newCert.Token); err != nil || res.Tier == health.Contraindicated {
		t.Errorf("new certificate: %+v, %v; want a verified, restored verdict", res, err)
	}
	if _, err := verifier(t).Verify(ctx, oldCert.Token); !errors.Is(err, verify.ErrRevoked) {
		t.Errorf("old certificate after restoring: %v, want still revoked", err)
	}
	if code := shopCall(t, http.MethodPost, "/pay?continue=yes", newCert.Token); code == http.StatusForbidden {
		t.Errorf("restored device: /pay %d", code)
	}
}

func ed25519Key() (ed25519.PrivateKey, ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	return priv, pub, err
}
