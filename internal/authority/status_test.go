package authority_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/postgres"
	"github.com/herd-health/herd/internal/store/sqlite"
	"github.com/herd-health/herd/verify"
)

// openSQLite and openPostgres give a fresh store of each kind.
func openSQLite(t *testing.T) store.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t *testing.T) store.Store {
	dsn := os.Getenv("HERD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("HERD_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "herd_test_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(ctx)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var stores = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"SQLite", openSQLite},
	{"Postgres", openPostgres},
}

// newStatusEnv is newEnv on st with revocation on.
func newStatusEnv(t *testing.T, st store.Store, cfg authority.Config) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	keys, err := keyring.Open(ctx, st, 4*time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, clock: clk}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	cfg.Issuer = e.srv.URL
	e.auth, err = authority.New(ctx, cfg, authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Now: clk.Now, Status: st.(store.StatusLists)})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", e.auth)
	return e
}

func (e *env) checkin(d device, statuses map[health.CheckID]health.Status, auds ...string) protocol.CheckinResponse {
	e.t.Helper()
	var resp protocol.CheckinResponse
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(e.t, d, e.statement(d, e.nonce(), statuses, auds...)), &resp); code != 200 {
		e.t.Fatalf("checkin: %d %v", code, perr)
	}
	return resp
}

var infected = map[health.CheckID]health.Status{
	health.Firewall: health.Pass, health.AutoUpdate: health.Pass, health.PendingUpdates: health.Pass, health.OSSupport: health.Pass,
	health.Malware: health.Fail,
}

// statusOf reads a certificate's status claim without verifying it.
func statusOf(t *testing.T, tok string) healthcert.StatusListRef {
	t.Helper()
	c, err := healthcert.ParseCompact(tok)
	if err != nil {
		t.Fatal(err)
	}
	var claims healthcert.Claims
	if err := json.Unmarshal(c.Payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Status == nil {
		t.Fatalf("certificate has no status claim: %s", c.Payload)
	}
	return claims.Status.StatusList
}

// decodeServedList is an independent decoder of a status list token,
// written from draft-ietf-oauth-status-list: the token is a JWS with typ
// statuslist+jwt; status_list.lst is base64url of ZLIB (RFC 1950) data;
// with bits 1, the status of index i is bit i%8 of byte i/8, counting
// from the least significant bit. It returns the header, claims and the
// statuses. The signature is checked with keys.
func decodeServedList(t *testing.T, uri string, keys healthcert.KeySet) (map[string]any, map[string]any, []int) {
	t.Helper()
	resp, err := http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", uri, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/statuslist+jwt" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
		t.Errorf("Cache-Control = %q", cc)
	}
	parts := strings.Split(string(body), ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %s", body)
	}
	var hdr, claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(pb, &claims) != nil {
		t.Fatalf("header or claims are not JSON")
	}
	jws, err := healthcert.ParseCompact(string(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := jws.Verify(keys[hdr["kid"].(string)]); err != nil {
		t.Fatalf("status list signature: %v", err)
	}
	sl := claims["status_list"].(map[string]any)
	if sl["bits"] != 1.0 {
		t.Fatalf("bits = %v", sl["bits"])
	}
	z, err := base64.RawURLEncoding.DecodeString(sl["lst"].(string))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatalf("lst is not ZLIB: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(raw)*8)
	for i := range out {
		out[i] = int(raw[i/8]>>(i%8)) & 1
	}
	return hdr, claims, out
}

func (e *env) keySet() healthcert.KeySet {
	e.t.Helper()
	r, err := http.Get(e.srv.URL + protocol.PathJWKS)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	var j healthcert.JWKS
	json.NewDecoder(r.Body).Decode(&j)
	ks, err := j.KeySet()
	if err != nil {
		e.t.Fatal(err)
	}
	return ks
}

func TestRevocationThroughStatusList(t *testing.T) {
	for _, sk := range stores {
		t.Run(sk.name, func(t *testing.T) {
			testRevocationThroughStatusList(t, sk.open(t))
		})
	}
}

func testRevocationThroughStatusList(t *testing.T, st store.Store) {
	ctx := context.Background()
	e := newStatusEnv(t, st, authority.Config{StatusListSize: 16})
	const bank, shop = "https://bank.example", "https://shop.example"
	a, b := e.enroll(), e.enroll()
	aOld := e.checkin(a, healthy, bank, shop).Certificates
	bCerts := e.checkin(b, healthy, bank).Certificates

	newVerifier := func() *verify.Verifier {
		opts := verify.Options{Audience: bank, Issuer: e.srv.URL, JWKSURL: e.srv.URL + protocol.PathJWKS, Now: e.clock.Now, StatusMaxAge: 5 * time.Minute}
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
	v := newVerifier()
	for _, c := range []protocol.Certificate{aOld[0], bCerts[0]} {
		if _, err := v.Verify(ctx, c.Token); err != nil {
			t.Fatalf("fresh certificate: %v", err)
		}
	}

	// The device turns contraindicated: its earlier live certificates are
	// revoked; the new ones stand and carry the verdict.
	resp := e.checkin(a, infected, bank)
	if resp.Verdict != health.Contraindicated {
		t.Fatalf("verdict = %s", resp.Verdict)
	}
	aNew := resp.Certificates[0]

	// Served list, read by the independent decoder, agrees with the store
	// and with which certificates were revoked.
	ref := statusOf(t, aOld[0].Token)
	hdr, claims, bits := decodeServedList(t, ref.URI, e.keySet())
	if hdr["typ"] != "statuslist+jwt" || claims["sub"] != ref.URI || claims["iss"] != e.srv.URL {
		t.Errorf("header %v, claims sub %v iss %v", hdr, claims["sub"], claims["iss"])
	}
	if iat, exp, ttl := claims["iat"].(float64), claims["exp"].(float64), claims["ttl"].(float64); int64(iat) != e.clock.Now().Unix() || exp <= iat || ttl != 60 {
		t.Errorf("iat %v exp %v ttl %v", iat, exp, ttl)
	}
	id, _ := strconv.ParseInt(ref.URI[strings.LastIndexByte(ref.URI, '/')+1:], 10, 64)
	l, err := st.(store.StatusLists).StatusList(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(bits)) < l.Allocated {
		t.Fatalf("served list has %d entries, %d allocated", len(bits), l.Allocated)
	}
	for i := range bits {
		if (bits[i] == 1) != l.Revoked(int64(i)) {
			t.Errorf("index %d: served %d, store revoked=%v", i, bits[i], l.Revoked(int64(i)))
		}
	}
	want := map[string]int{"a old bank": 1, "a old shop": 1, "b": 0, "a new": 0}
	for name, c := range map[string]protocol.Certificate{"a old bank": aOld[0], "a old shop": aOld[1], "b": bCerts[0], "a new": aNew} {
		r := statusOf(t, c.Token)
		if r.URI != ref.URI {
			t.Fatalf("%s is in list %s, want %s", name, r.URI, ref.URI)
		}
		if bits[r.Index] != want[name] {
			t.Errorf("%s (index %d): status %d, want %d", name, r.Index, bits[r.Index], want[name])
		}
	}

	// The relying party learns it once its cached list's ttl runs out.
	if _, err := v.Verify(ctx, aOld[0].Token); err != nil {
		t.Fatalf("within the ttl the cached list still says valid, got %v", err)
	}
	e.clock.Add(61 * time.Second)
	if _, err := v.Verify(ctx, aOld[0].Token); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("revoked certificate after the ttl: %v", err)
	}
	if _, err := v.Verify(ctx, bCerts[0].Token); err != nil {
		t.Fatalf("other device: %v", err)
	}
	res, err := v.Verify(ctx, aNew.Token)
	if err != nil || res.Tier != health.Contraindicated {
		t.Fatalf("new certificate: %v %v", res, err)
	}

	// Revoke directly; already revoked certificates are not counted again.
	n, err := e.auth.Revoke(ctx, b.id, "operator")
	if err != nil || n != 1 {
		t.Fatalf("Revoke(b) = %d, %v; want 1", n, err)
	}
	e.clock.Add(61 * time.Second)
	if _, err := newVerifier().Verify(ctx, bCerts[0].Token); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("after Revoke: %v", err)
	}

	// Lists rotate when full; indices are never handed out twice.
	seen := map[string]bool{}
	for _, c := range append(append(aOld, bCerts...), aNew) {
		r := statusOf(t, c.Token)
		seen[r.URI+"#"+strconv.Itoa(r.Index)] = true
	}
	for i := 0; i < 6; i++ {
		for _, c := range e.checkin(b, healthy, bank, shop, "https://c.example").Certificates {
			r := statusOf(t, c.Token)
			k := r.URI + "#" + strconv.Itoa(r.Index)
			if seen[k] || r.Index >= 16 {
				t.Fatalf("index %s handed out twice or beyond the list size", k)
			}
			seen[k] = true
		}
	}
	if !seen[e.srv.URL+"/v1/status/2#0"] {
		t.Errorf("no certificate in the second list after filling the first: %v", seen)
	}
	var d map[string]any
	r, _ := http.Get(e.srv.URL + protocol.PathDiscovery)
	json.NewDecoder(r.Body).Decode(&d)
	r.Body.Close()
	if d["status_list_uri"] != e.srv.URL+"/v1/status/2" {
		t.Errorf("discovery status_list_uri = %v", d["status_list_uri"])
	}
	for _, p := range []string{"/v1/status/99", "/v1/status/x", "/v1/status/-1"} {
		r, _ := http.Get(e.srv.URL + p)
		if r.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.StatusCode)
		}
		r.Body.Close()
	}
}

// A replayed statement is refused before it can act: replaying an earlier
// "infected" statement must not revoke the certificates the device holds
// now.
func TestReplayedInfectedStatementRevokesNothing(t *testing.T) {
	for _, sk := range stores {
		t.Run(sk.name, func(t *testing.T) {
			st := sk.open(t)
			e := newStatusEnv(t, st, authority.Config{StatusListSize: 16})
			const bank = "https://bank.example"
			d := e.enroll()
			infectedBody := sign(t, d, e.statement(d, e.nonce(), infected, bank))
			var first protocol.CheckinResponse
			if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, infectedBody, &first); code != 200 || first.Verdict != health.Contraindicated {
				t.Fatalf("infected check-in: %d %v %s", code, perr, first.Verdict)
			}
			clean := e.checkin(d, healthy, bank).Certificates[0]
			before := e.checkins()

			code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, infectedBody, nil)
			if code != 400 || perr.Code != "nonce_invalid" {
				t.Fatalf("replay: %d %q, want 400 nonce_invalid", code, perr.Code)
			}
			if n := e.checkins(); n != before {
				t.Fatalf("the replay was recorded: %d check-ins, want %d", n, before)
			}
			ref := statusOf(t, clean.Token)
			id, _ := strconv.ParseInt(ref.URI[strings.LastIndexByte(ref.URI, '/')+1:], 10, 64)
			l, err := st.(store.StatusLists).StatusList(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if l.Revoked(int64(ref.Index)) {
				t.Fatal("the replayed infected statement revoked the device's current certificate")
			}
		})
	}
}

// TestStatusListServedAtFullSize: the list is served at its full size
// from the start, so a relying party that fetched it earlier reads the
// index of a certificate issued after the node reserved a new block of
// indices, and discovery's list answers before any certificate exists.
func TestStatusListServedAtFullSize(t *testing.T) {
	for _, sk := range stores {
		t.Run(sk.name, func(t *testing.T) {
			testStatusListServedAtFullSize(t, sk.open(t))
		})
	}
}

func testStatusListServedAtFullSize(t *testing.T, st store.Store) {
	ctx := context.Background()
	e := newStatusEnv(t, st, authority.Config{})
	const bank = "https://bank.example"

	// Before the first certificate: discovery's list is served, empty.
	var d map[string]any
	r, err := http.Get(e.srv.URL + protocol.PathDiscovery)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(r.Body).Decode(&d)
	r.Body.Close()
	uri, _ := d["status_list_uri"].(string)
	if uri != e.srv.URL+"/v1/status/1" {
		t.Fatalf("discovery status_list_uri = %v", d["status_list_uri"])
	}
	_, _, bits := decodeServedList(t, uri, e.keySet())
	if len(bits) != 1_000_000 {
		t.Fatalf("empty list has %d entries, want 1000000", len(bits))
	}
	for i, b := range bits {
		if b != 0 {
			t.Fatalf("empty list: index %d is %d", i, b)
		}
	}

	opts := verify.Options{Audience: bank, Issuer: e.srv.URL, JWKSURL: e.srv.URL + protocol.PathJWKS, Now: e.clock.Now}
	sc, err := verify.NewStatusChecker(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Status = sc
	v, err := verify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	dev := e.enroll()
	first := e.checkin(dev, healthy, bank).Certificates[0]
	if _, err := v.Verify(ctx, first.Token); err != nil {
		t.Fatalf("first certificate: %v", err)
	}
	// More than one block of indices later, within the list's ttl (the
	// relying party does not fetch the list again on its own).
	var last protocol.Certificate
	for range 300 {
		last = e.checkin(dev, healthy, bank).Certificates[0]
	}
	if idx := statusOf(t, last.Token).Index; idx < 256 {
		t.Fatalf("index %d: the check-ins did not reach a second block", idx)
	}
	if _, err := v.Verify(ctx, last.Token); err != nil {
		t.Fatalf("certificate issued after the list was fetched: %v", err)
	}

	// The full list stays small on the wire.
	r, err = http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if len(body) > 2048 {
		t.Errorf("status list token of 1,000,000 entries is %d bytes", len(body))
	}
	t.Logf("status list token: %d bytes", len(body))
}
