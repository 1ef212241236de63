package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

func TestAdminUserCreate(t *testing.T) {
	dsn := tempDB(t)
	defer func(r io.Reader) { passwordInput = r }(passwordInput)
	for _, tc := range []struct {
		name, user, input string
		code              int
	}{
		{"created", "alice", "a long enough password\n", 0},
		{"duplicate", "alice", "another long password\n", 1},
		{"short password", "bob", "short\n", 1},
		{"empty input", "carol", "", 1},
		{"bad name", "a b", "a long enough password\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			passwordInput = strings.NewReader(tc.input)
			code, out, errs := herd(t, "admin", "user", "create", "--db", dsn, "--name", tc.user)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, out, errs)
			}
			if strings.Contains(out+errs, strings.TrimSpace(tc.input)) && tc.input != "" {
				t.Errorf("the password was echoed: %q %q", out, errs)
			}
		})
	}
	if code, _, _ := herd(t, "admin", "user", "create", "--db", dsn); code != 2 {
		t.Errorf("without --name: exit %d", code)
	}
	st, err := openOps(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.(store.ConsoleUsers).ConsoleUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte("a long enough password")) != nil {
		t.Error("the stored hash does not match the password read from stdin")
	}
	if _, err := st.(store.ConsoleUsers).ConsoleUser(context.Background(), "bob"); err == nil {
		t.Error("a user with a short password was created")
	}
	log, _ := st.AuditLog(context.Background(), 10)
	var got []string
	for _, e := range log {
		got = append(got, e.Action+" "+e.Target+" "+e.Outcome)
	}
	// Every attempt that got a password is recorded, with its outcome.
	if want := "console_user.create a b error,console_user.create bob error,console_user.create alice error,console_user.create alice ok"; strings.Join(got, ",") != want {
		t.Errorf("audit = %q, want %q", strings.Join(got, ","), want)
	}
}

// testNode serves a node over a SQLite file on loopback.
func testNode(t *testing.T, cfg node.Config) (*node.Node, *httptest.Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "herd.db")
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	cfg.DSN = "sqlite:" + path
	cfg.Authority.Issuer = srv.URL
	n, err := node.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	srv.Config.Handler = n.Handler()
	return n, srv, cfg.DSN
}

func TestPartnersAddWorksAgainstTAXII(t *testing.T) {
	_, srv, dsn := testNode(t, node.Config{})
	code, out, errs := herd(t, "partners", "add", "--db", dsn, "--name", "cert-example")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	tok := strings.TrimSpace(out)
	if !strings.HasPrefix(tok, partnerPrefix) || strings.Count(out, "\n") != 1 || strings.Contains(errs, tok) {
		t.Fatalf("token printed as %q (stderr %q); want it once, alone on stdout", out, errs)
	}
	if code, _, _ := herd(t, "partners", "add", "--db", dsn, "--name", "cert-example"); code != 1 {
		t.Errorf("a second partner with the same name: exit %d", code)
	}
	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/taxii2/", nil)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		if pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("anyone", tok); got != http.StatusOK {
		t.Errorf("discovery with the partner token: %d", got)
	}
	if got := get("anyone", tok+"x"); got != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", got)
	}
	if got := get("", ""); got != http.StatusUnauthorized {
		t.Errorf("no token: %d", got)
	}
}

func TestServeGeoIPFlagAndConfigKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herd.json")
	os.WriteFile(path, []byte(`{"geoip_database": "/srv/GeoLite2-Country.mmdb", "trusted_proxies": ["10.0.0.0/8", "fd00::/8"],
		"min_count": 20, "epsilon": 0.5}`), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"from the file", nil, "/srv/GeoLite2-Country.mmdb"},
		{"the flag wins", []string{"--geoip", "/other.mmdb"}, "/other.mmdb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			geo := fs.String("geoip", "", "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			f, err := loadServeFile(fs, path)
			if err != nil {
				t.Fatal(err)
			}
			if *geo != tc.want {
				t.Errorf("geoip = %q, want %q", *geo, tc.want)
			}
			if strings.Join(f.TrustedProxies, ",") != "10.0.0.0/8,fd00::/8" || f.MinCount != 20 || f.Epsilon != 0.5 {
				t.Errorf("file = %+v", f)
			}
		})
	}
	// A database that cannot be opened stops herd serve at start.
	code, _, errs := herd(t, "serve", "--addr", "127.0.0.1:0", "--insecure-http", "--db", "sqlite:"+filepath.Join(t.TempDir(), "h.db"),
		"--geoip", filepath.Join(t.TempDir(), "missing.mmdb"))
	if code != 1 || (!strings.Contains(strings.ToLower(errs), "geoip") && !strings.Contains(errs, "missing.mmdb")) {
		t.Errorf("missing GeoIP database: exit %d, stderr %q", code, errs)
	}
}

// device is a simulated device with a real key.
type device struct {
	id   string
	priv ed25519.PrivateKey
}

type apiClient struct {
	t   *testing.T
	url string
	// now is the device's clock (nil: time.Now).
	now func() time.Time
}

func (c apiClient) post(path, ctype string, body []byte, out any) {
	c.t.Helper()
	resp, err := http.Post(c.url+path, ctype, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		c.t.Fatalf("%s: HTTP %d", path, resp.StatusCode)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

func (c apiClient) nonce() string {
	var ch protocol.Challenge
	c.post(protocol.PathChallenge, "", nil, &ch)
	return ch.Nonce
}

func (c apiClient) enroll() device {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	n := c.nonce()
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	var resp protocol.EnrollResponse
	c.post(protocol.PathEnroll, "application/json", req, &resp)
	return device{id: resp.DeviceID, priv: priv}
}

func (c apiClient) checkin(d device, failing ...health.CheckID) health.Tier {
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	s := health.Statement{Version: 1, DeviceID: d.id, Nonce: c.nonce(), IssuedAt: now, CollectedAt: now, OS: "linux", OSVersion: "12", AgentVersion: "herd-agent test"}
	for _, id := range []health.CheckID{health.Firewall, health.AutoUpdate, health.PendingUpdates, health.OSSupport, health.ScreenLock} {
		st := health.Pass
		for _, f := range failing {
			if f == id {
				st = health.Fail
			}
		}
		s.Checks = append(s.Checks, health.Result{ID: id, Status: st, Reason: "test", Evidence: health.Evidence{Source: "test", Trust: health.OSReported}})
	}
	b, _ := json.Marshal(s)
	jws, err := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, b)
	if err != nil {
		c.t.Fatal(err)
	}
	var resp protocol.CheckinResponse
	c.post(protocol.PathCheckin, protocol.ContentTypeJOSE, []byte(jws), &resp)
	return resp.Verdict
}

// TestExportFromRealCheckins fills a store through the device API and
// checks every format of herd export: no count under K, no identifier.
// The check-ins are a day old (the authority's and the devices' clocks
// are set back a day): an export holds complete days only.
func TestExportFromRealCheckins(t *testing.T) {
	yesterday := func() time.Time { return time.Now().Add(-24 * time.Hour) }
	_, srv, dsn := testNode(t, node.Config{Authority: authority.Config{}, Now: yesterday})
	c := apiClient{t: t, url: srv.URL, now: yesterday}
	var ids []string
	want := map[health.Tier]int{}
	for i := range 20 {
		d := c.enroll()
		ids = append(ids, d.id)
		var v health.Tier
		switch {
		case i < 12:
			v = c.checkin(d)
		case i < 18:
			v = c.checkin(d, health.Firewall)
		default:
			v = c.checkin(d, health.Firewall, health.ScreenLock)
		}
		want[v]++
	}
	if want[health.Affirming] != 12 || want[health.Warning] != 8 {
		t.Fatalf("verdicts %v; want 12 affirming, 8 warning", want)
	}
	const k = 5
	for _, format := range []string{"json", "csv", "stix21"} {
		t.Run(format, func(t *testing.T) {
			code, out, errs := herd(t, "export", "--db", dsn, "--format", format, "--min-count", "5")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, id := range ids {
				if strings.Contains(out, id) {
					t.Fatalf("device id %s in the export", id)
				}
			}
			for _, ident := range []string{"127.0.0.1", "::1", "herd-agent test", "source_ip"} {
				if strings.Contains(out, ident) {
					t.Errorf("%q in the export", ident)
				}
			}
			if format != "json" {
				return
			}
			var ex population.Export
			if err := json.Unmarshal([]byte(out), &ex); err != nil {
				t.Fatal(err)
			}
			if ex.Privacy.MinCount != k {
				t.Errorf("min_count %d", ex.Privacy.MinCount)
			}
			found := map[string]int64{}
			for _, tb := range ex.Tables {
				for _, cl := range tb.Cells {
					if cl.Count != nil && *cl.Count < k {
						t.Errorf("%s: cell %+v under K", tb.Name, cl)
					}
					if cl.Count == nil && !cl.Suppressed {
						t.Errorf("%s: a cell with no count is not marked suppressed", tb.Name)
					}
					if cl.Count != nil {
						found[tb.Name+"/"+cl.Key] = *cl.Count
					}
				}
				for _, tot := range append(tb.RowTotals, tb.ColumnTotals...) {
					if tot.Count != nil && *tot.Count < k {
						t.Errorf("%s: total %+v under K", tb.Name, tot)
					}
				}
			}
			if found["verdict/affirming"] != 12 || found["verdict/warning"] != 8 {
				t.Errorf("published verdicts %v; want affirming 12, warning 8", found)
			}
			if _, ok := found["failing/screen_lock"]; ok {
				t.Errorf("screen_lock (2 devices) was published: %v", found)
			}
		})
	}
}
