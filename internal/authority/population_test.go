package authority_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/geoip"
	"github.com/herd-health/herd/internal/geoip/geoiptest"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
	"github.com/herd-health/herd/internal/taxii"
)

type popEnv struct {
	t       *testing.T
	srv     *httptest.Server
	st      *sqlite.Store
	clk     *clock
	admin   string
	partner string
	c2      map[string]string // family → C2 address in the intel
}

func newPopEnv(t *testing.T, proxies []string) *popEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	keys, err := keyring.Open(ctx, st, 4*time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	geo, err := geoip.OpenBytes(geoiptest.Build(t, geoiptest.Documentation))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e := &popEnv{t: t, st: st, clk: clk, srv: httptest.NewTLSServer(mux)}
	t.Cleanup(e.srv.Close)
	a, err := authority.New(ctx, authority.Config{Issuer: e.srv.URL, TrustedProxies: proxies,
		Operations: authority.OperationsConfig{RateLimits: authority.RateLimits{Off: true}}},
		authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Now: clk.Now, Operations: st, GeoIP: geo,
			Population: &population.Service{Store: st, Now: clk.Now},
			TAXII:      &taxii.Population{Stats: st, Records: st, MinCount: 3, Issuer: e.srv.URL, Now: clk.Now}})
	if err != nil {
		t.Fatal(err)
	}
	a.SetIntel(st)
	mux.Handle("/", a)
	var hash []byte
	e.admin, hash = apitoken.New(apitoken.AdminPrefix)
	if err := st.CreateAdminToken(ctx, store.AdminToken{Name: "alice", Hash: hash, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	e.partner, hash = apitoken.New("herd_partner_")
	if err := st.AddPartner(ctx, "cert-nl", hash, clk.Now()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *popEnv) do(method, path string, body []byte, hdr map[string]string) (int, []byte, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// checkin enrolls a device and checks it in from xff (as forwarded by the
// loopback peer); family names a malware infection.
func (e *popEnv) checkin(xff, family string) string {
	e.t.Helper()
	return e.checkinWith(xff, family, 200, nil)
}

// checkinWith is checkin with edit applied to the statement, expecting
// HTTP status code.
func (e *popEnv) checkinWith(xff, family string, code int, edit func(*health.Statement)) string {
	e.t.Helper()
	h := map[string]string{"X-Forwarded-For": xff}
	nonce := func() string {
		_, b, _ := e.do("POST", protocol.PathChallenge, nil, h)
		var c protocol.Challenge
		json.Unmarshal(b, &c)
		return c.Nonce
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	n, pk := nonce(), base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	ec, b, _ := e.do("POST", protocol.PathEnroll, req, h)
	var er protocol.EnrollResponse
	if json.Unmarshal(b, &er); ec != http.StatusCreated {
		e.t.Fatalf("enroll: %d %s", code, b)
	}
	d := device{id: er.DeviceID, priv: priv}
	s := health.Statement{Version: 1, DeviceID: d.id, Nonce: nonce(), IssuedAt: e.clk.Now(), CollectedAt: e.clk.Now(), OS: "linux", OSVersion: "12", AgentVersion: "1.0"}
	s.Checks = append(s.Checks, health.Result{ID: health.Firewall, Status: health.Pass, Reason: "test", Evidence: health.Evidence{Source: "test", Trust: health.OSReported}})
	if family != "" {
		// The device matched the authority's indicator for family; what
		// it says the family is does not count.
		s.Checks = append(s.Checks, health.Result{ID: health.Malware, Status: health.Fail, Reason: "test",
			Evidence: health.Evidence{Source: "test", Trust: health.ProductReported, Facts: map[string]any{
				"indicator_type": "ipv4", "indicator": e.indicator(family) + ":443", "family": "bob@example.org 10.1.2.3"}}})
	}
	if edit != nil {
		edit(&s)
	}
	if got, b, _ := e.do("POST", protocol.PathCheckin, sign(e.t, d, s), h); got != code {
		e.t.Fatalf("checkin: %d %s, want %d", got, b, code)
	}
	return d.id
}

// indicator is the address of the C2 the authority's intel names for
// family (stored on first use).
func (e *popEnv) indicator(family string) string {
	e.t.Helper()
	if e.c2 == nil {
		e.c2 = map[string]string{}
	}
	if ip, ok := e.c2[family]; ok {
		return ip
	}
	ip := fmt.Sprintf("198.18.0.%d", len(e.c2)+1)
	if _, err := e.st.ImportIndicators(context.Background(), e.clk.Now(), func(add func(store.Indicator) error) error {
		return add(store.Indicator{Type: "ipv4", Value: ip, Port: 443, Sources: []string{"feodotracker"}, Family: family})
	}); err != nil {
		e.t.Fatal(err)
	}
	e.c2[family] = ip
	return ip
}

func (e *popEnv) counts(kind store.AggregateKind, dim store.Dimension) map[string]int64 {
	e.t.Helper()
	day := e.clk.Now()
	cells, err := e.st.Aggregate(context.Background(), kind, dim, day, day)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range cells {
		out[c.Segment.Country+"/"+c.Key] += c.Count
	}
	return out
}

func TestCheckinCountryAndFamilyThroughTrustedProxy(t *testing.T) {
	e := newPopEnv(t, []string{"127.0.0.0/8", "::1/128"})
	for _, tc := range []struct{ xff, family string }{
		{"192.0.2.10", ""}, {"192.0.2.11", ""}, {"203.0.113.9, 198.51.100.7", "mirai"}, {"2001:db8::1", ""},
		{"198.51.100.8, 127.0.0.1", "mirai"}, // a second trusted hop is skipped
	} {
		e.checkin(tc.xff, tc.family)
	}
	got := e.counts(store.AggVerdict, store.DimCountry)
	want := map[string]int64{"NL/warning": 2, "BR/contraindicated": 2, "JP/warning": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("verdict by country %s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	inf := e.counts(store.AggInfection, store.DimCountry)
	if inf["BR/mirai"] != 2 {
		t.Errorf("new infections by country = %v, want BR/mirai 2", inf)
	}
}

func TestUntrustedClientCannotSpoofForwardedFor(t *testing.T) {
	e := newPopEnv(t, []string{"10.0.0.0/8"}) // the loopback peer is not a trusted proxy
	e.checkin("192.0.2.10", "")
	got := e.counts(store.AggVerdict, store.DimCountry)
	if got["/warning"] != 1 || len(got) != 1 {
		t.Errorf("a spoofed X-Forwarded-For gave a country: %v", got)
	}
}

func TestPopulationAPIUsesAdminTokensAndAudits(t *testing.T) {
	e := newPopEnv(t, nil)
	e.checkin("", "")
	if code, b, h := e.do("GET", "/v1/population/overview?days=7", nil, nil); code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: %d %s", code, b)
	}
	if code, _, _ := e.do("GET", "/v1/population/overview?days=7", nil, map[string]string{"Authorization": "Bearer " + e.partner}); code != 401 {
		t.Fatalf("a partner token opened the admin population API: %d", code)
	}
	code, b, _ := e.do("GET", "/v1/population/overview?days=7", nil, map[string]string{"Authorization": "Bearer " + e.admin})
	var o population.Overview
	if code != 200 || json.Unmarshal(b, &o) != nil || o.Population != 1 || o.Series[6].ByVerdict["warning"] != 1 {
		t.Fatalf("overview: %d %s", code, b)
	}
	as, err := e.st.AuditLog(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Actor != "alice" || as[0].Action != "population.read" || as[0].Target != "overview" {
		t.Fatalf("audit = %+v, want one population.read by alice", as)
	}
}

// A device's statement never becomes a label: its release, agent version
// and the family it names are mapped onto the authority's vocabulary, an
// OS outside linux, windows and darwin is refused, and the family of an
// infection is the one the authority's intel gives the matched indicator.
func TestCheckinLabelsAreNotDeviceText(t *testing.T) {
	e := newPopEnv(t, []string{"127.0.0.0/8"})
	hostile := []string{"alice@example.com", "bob@example.org", "10.1.2.3", "Alice"}
	e.checkinWith("192.0.2.10", "", 200, func(s *health.Statement) {
		s.OSVersion, s.AgentVersion = "alice@example.com", "bob@example.org 10.1.2.3"
	})
	e.checkinWith("192.0.2.11", "QakBot", 200, func(s *health.Statement) { s.OSVersion, s.AgentVersion = "debian 12", "1.4.2" })
	// A match on an indicator the authority does not know: unknown.
	e.checkinWith("192.0.2.12", "", 200, func(s *health.Statement) {
		s.Checks = append(s.Checks, health.Result{ID: health.Malware, Status: health.Fail, Reason: "test",
			Evidence: health.Evidence{Source: "test", Trust: health.ProductReported, Facts: map[string]any{
				"indicator_type": "ipv4", "indicator": "203.0.113.200:443", "family": "Alice"}}})
	})
	// A feed that names a family with an address in it: unknown too.
	e.checkinWith("192.0.2.13", "bob@example.org 10.1.2.3", 200, nil)
	// An OS outside the three is refused with a reason, and counts nowhere.
	e.checkinWith("192.0.2.14", "", 400, func(s *health.Statement) { s.OS = "alice@example.com" })

	cells := map[string]int64{}
	for _, kind := range []store.AggregateKind{store.AggVerdict, store.AggFailing, store.AggInfection} {
		cs, err := e.st.Aggregate(context.Background(), kind, store.DimAll, e.clk.Now(), e.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			cells[fmt.Sprintf("%s %s|%s|%s|%s %s", kind, c.Segment.OS, c.Segment.OSVersion, c.Segment.Agent, c.Segment.Country, c.Key)] += c.Count
		}
	}
	want := map[string]int64{
		"verdict linux|linux other|other|NL warning":       1,
		"verdict linux|debian 12|1.4.2|NL contraindicated": 1,
		"verdict linux|linux other|1.0|NL contraindicated": 2,
		"infection linux|debian 12|1.4.2|NL QakBot":        1,
		"infection linux|linux other|1.0|NL unknown":       2,
		"failing linux|debian 12|1.4.2|NL malware":         1,
		"failing linux|linux other|1.0|NL malware":         2,
	}
	for k, n := range want {
		if cells[k] != n {
			t.Errorf("%s = %d, want %d", k, cells[k], n)
		}
	}
	if len(cells) != len(want) {
		t.Errorf("cells %v, want exactly %v", cells, want)
	}
	for k := range cells {
		for _, h := range hostile {
			if strings.Contains(k, h) {
				t.Errorf("cell %q carries device text %q", k, h)
			}
		}
	}
}
