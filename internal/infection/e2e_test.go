package infection_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"net/http"
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
	"github.com/herd-health/herd/internal/intel"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// TestInfectionEndToEnd: a feed lists a loopback C2; the authority
// imports it; the real agent with the real malware check and the live
// system gets the signed bundle at check-in, connects to the C2, turns
// contraindicated with a notice signed by the authority, and is restored
// once the connection is closed.
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
	a, err := authority.New(ctx, authority.Config{Issuer: "http://" + ln.Addr().String()}, authority.Deps{Store: st, Keys: keys, Policy: policy.Default()})
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

	ag := &agent.Agent{Store: agent.Store{Dir: t.TempDir()}, Checks: []checks.Check{malware.New()}, Source: source.NewLive(), Version: "test"}
	if _, err := ag.Enroll(ctx, "http://"+ln.Addr().String(), ""); err != nil {
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
	conn.Close()
	time.Sleep(100 * time.Millisecond)

	// A forged notice (signed by another key) is never shown.
	state, _ := ag.Store.LoadState()
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
}

func ed25519Key() (ed25519.PrivateKey, ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	return priv, pub, err
}
