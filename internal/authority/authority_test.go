package authority_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	t     *testing.T
	srv   *httptest.Server
	store store.Store
	clock *clock
	auth  *authority.Authority
}

func newEnv(t *testing.T, cfg authority.Config) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
	e.auth, err = authority.New(ctx, cfg, authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", e.auth)
	return e
}

// post sends a body and decodes the JSON answer.
func (e *env) post(path, ctype string, body []byte, out any) (int, protocol.Error) {
	e.t.Helper()
	resp, err := http.Post(e.srv.URL+path, ctype, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var perr protocol.Error
	if resp.StatusCode/100 == 2 {
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				e.t.Fatalf("%s: %v: %s", path, err, b)
			}
		}
	} else if err := json.Unmarshal(b, &perr); err != nil || perr.Error == "" || perr.Code == "" {
		e.t.Fatalf("%s: error body is not {error, code}: %s", path, b)
	}
	return resp.StatusCode, perr
}

func (e *env) nonce() string {
	var c protocol.Challenge
	if code, perr := e.post(protocol.PathChallenge, "", nil, &c); code != 200 {
		e.t.Fatalf("challenge: %d %v", code, perr)
	}
	return c.Nonce
}

type device struct {
	id   string
	priv ed25519.PrivateKey
}

func (e *env) enroll() device {
	e.t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	n := e.nonce()
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	var resp protocol.EnrollResponse
	if code, perr := e.post(protocol.PathEnroll, "application/json", req, &resp); code != http.StatusCreated {
		e.t.Fatalf("enroll: %d %v", code, perr)
	}
	return device{id: resp.DeviceID, priv: priv}
}

func (e *env) statement(d device, nonce string, statuses map[health.CheckID]health.Status, auds ...string) health.Statement {
	s := health.Statement{Version: 1, DeviceID: d.id, Nonce: nonce, IssuedAt: e.clock.Now(), CollectedAt: e.clock.Now(), OS: "linux", Audiences: auds}
	for _, id := range health.CheckIDs {
		if st, ok := statuses[id]; ok {
			s.Checks = append(s.Checks, health.Result{ID: id, Status: st, Reason: "test", Evidence: health.Evidence{Source: "test", Trust: health.OSReported}})
		}
	}
	return s
}

func sign(t *testing.T, d device, s any) []byte {
	b, _ := json.Marshal(s)
	jws, err := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, b)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(jws)
}

var healthy = map[health.CheckID]health.Status{
	health.Firewall: health.Pass, health.AutoUpdate: health.Pass, health.PendingUpdates: health.Pass, health.OSSupport: health.Pass,
}

func (e *env) checkins() int64 {
	s, err := e.store.Stats(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return s.Checkins
}

func TestCheckinIssuesPairwiseCertificates(t *testing.T) {
	e := newEnv(t, authority.Config{})
	d := e.enroll()
	body := sign(t, d, e.statement(d, e.nonce(), healthy, "https://bank.example", "https://shop.example"))
	var resp protocol.CheckinResponse
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, body, &resp); code != 200 {
		t.Fatalf("checkin: %d %v", code, perr)
	}
	if resp.Verdict != health.Affirming || resp.PolicyID != "herd-default@1" || len(resp.Certificates) != 2 {
		t.Fatalf("response = %+v", resp)
	}
	ks, err := healthcert.JWKS(func() healthcert.JWKS {
		r, err := http.Get(e.srv.URL + protocol.PathJWKS)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var j healthcert.JWKS
		json.NewDecoder(r.Body).Decode(&j)
		return j
	}()).KeySet()
	if err != nil {
		t.Fatal(err)
	}
	subs := map[string]bool{}
	for _, c := range resp.Certificates {
		claims, err := healthcert.Parse(c.Token, ks)
		if err != nil {
			t.Fatalf("%s: %v", c.Audience, err)
		}
		if string(claims.Audience) != c.Audience || claims.Issuer != e.srv.URL || claims.Tier() != health.Affirming {
			t.Errorf("claims = %+v", claims)
		}
		if got := claims.Expiry - claims.IssuedAt; got != int64(4*time.Hour/time.Second) {
			t.Errorf("lifetime = %ds, want 4h", got)
		}
		if claims.Subject == d.id || strings.Contains(c.Token, d.id) {
			t.Errorf("the device id leaks into the certificate")
		}
		subs[claims.Subject] = true
	}
	if len(subs) != 2 {
		t.Errorf("subjects at two audiences are not distinct: %v", subs)
	}
	// The same device at the same audience keeps its pseudonym.
	if a, b := e.auth.PairwiseSubject(d.id, "x"), e.auth.PairwiseSubject(d.id, "x"); a != b {
		t.Errorf("pairwise subject is not stable")
	}
	if e.checkins() != 1 {
		t.Fatalf("check-ins stored = %d, want 1", e.checkins())
	}
}

func TestHostileCheckinsAreRejectedAndStoreNothing(t *testing.T) {
	e := newEnv(t, authority.Config{MaxBodyBytes: 8 << 10})
	d := e.enroll()
	other := e.enroll()
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)

	used := e.nonce()
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(t, d, e.statement(d, used, healthy)), nil); code != 200 {
		t.Fatalf("first check-in: %d %v", code, perr)
	}
	before := e.checkins()

	expired := e.nonce()
	tests := []struct {
		name   string
		body   func() []byte
		before func()
		status int
		code   string
	}{
		{"replayed nonce", func() []byte { return sign(t, d, e.statement(d, used, healthy)) }, nil, 400, "nonce_invalid"},
		{"never issued nonce", func() []byte { return sign(t, d, e.statement(d, "made-up", healthy)) }, nil, 400, "nonce_invalid"},
		{"expired nonce", func() []byte { return sign(t, d, e.statement(d, expired, healthy)) }, func() { e.clock.Add(3 * time.Minute) }, 400, "nonce_expired"},
		{"signed by another key", func() []byte {
			return sign(t, device{id: d.id, priv: stranger}, e.statement(d, e.nonce(), healthy))
		}, nil, 401, "bad_signature"},
		{"signed by another enrolled device", func() []byte {
			return sign(t, other, e.statement(d, e.nonce(), healthy))
		}, nil, 400, "bad_statement"},
		{"unknown device", func() []byte {
			return sign(t, device{id: "nobody", priv: stranger}, e.statement(device{id: "nobody"}, e.nonce(), healthy))
		}, nil, 401, "unknown_device"},
		{"tampered payload", func() []byte {
			tok := string(sign(t, d, e.statement(d, e.nonce(), map[health.CheckID]health.Status{health.Firewall: health.Fail})))
			parts := strings.Split(tok, ".")
			good, _ := json.Marshal(e.statement(d, e.nonce(), healthy))
			return []byte(parts[0] + "." + base64.RawURLEncoding.EncodeToString(good) + "." + parts[2])
		}, nil, 401, "bad_signature"},
		{"alg none", func() []byte {
			p, _ := json.Marshal(e.statement(d, e.nonce(), healthy))
			return []byte(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+d.id+`"}`)) + "." + base64.RawURLEncoding.EncodeToString(p) + ".")
		}, nil, 400, "malformed_statement"},
		{"not a JWS", func() []byte { return []byte(`{"checks": []}`) }, nil, 400, "malformed_statement"},
		{"malformed JSON payload", func() []byte {
			jws, _ := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, []byte(`{"version": 1, "checks": [`))
			return []byte(jws)
		}, nil, 400, "malformed_json"},
		{"unknown fields", func() []byte {
			jws, _ := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, []byte(`{"version": 1, "ip": "192.0.2.1"}`))
			return []byte(jws)
		}, nil, 400, "malformed_json"},
		{"invalid statement", func() []byte {
			s := e.statement(d, e.nonce(), healthy)
			s.Checks = append(s.Checks, health.Result{ID: "wifi", Status: health.Pass})
			return sign(t, d, s)
		}, nil, 400, "bad_statement"},
		{"clock skew", func() []byte {
			s := e.statement(d, e.nonce(), healthy)
			s.IssuedAt = s.IssuedAt.Add(-time.Hour)
			return sign(t, d, s)
		}, nil, 400, "clock_skew"},
		{"too large", func() []byte { return bytes.Repeat([]byte("a"), 9<<10) }, nil, 413, "too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body()
			if tc.before != nil {
				tc.before()
			}
			code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, body, nil)
			if code != tc.status || perr.Code != tc.code {
				t.Fatalf("got %d %q (%s), want %d %q", code, perr.Code, perr.Error, tc.status, tc.code)
			}
			if n := e.checkins(); n != before {
				t.Fatalf("a rejected check-in was stored: %d check-ins, want %d", n, before)
			}
		})
	}
}

func TestEnrollmentNeedsProofAndNonce(t *testing.T) {
	e := newEnv(t, authority.Config{EnrollmentToken: "fleet-secret"})
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	pk := base64.RawURLEncoding.EncodeToString(pub)
	mk := func(nonce, token string, signer ed25519.PrivateKey) []byte {
		b, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: nonce, Token: token,
			Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(signer, protocol.EnrollProof(nonce, pk)))})
		return b
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"no token", mk(e.nonce(), "", priv), 403, "enrollment_token"},
		{"wrong token", mk(e.nonce(), "guess", priv), 403, "enrollment_token"},
		{"no proof of possession", mk(e.nonce(), "fleet-secret", otherPriv), 401, "bad_signature"},
		{"unknown nonce", mk("nope", "fleet-secret", priv), 400, "nonce_invalid"},
		{"malformed", []byte(`{"public_key": 3}`), 400, "malformed_json"},
		{"bad key", []byte(`{"public_key": "AAAA", "os": "linux", "nonce": "x", "signature": "AAAA", "token": "fleet-secret"}`), 400, "bad_public_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, perr := e.post(protocol.PathEnroll, "application/json", tc.body, nil)
			if code != tc.status || perr.Code != tc.code {
				t.Fatalf("got %d %q (%s), want %d %q", code, perr.Code, perr.Error, tc.status, tc.code)
			}
		})
	}
	s, _ := e.store.Stats(context.Background())
	if s.Devices != 0 {
		t.Fatalf("%d devices enrolled by rejected requests", s.Devices)
	}
	var resp protocol.EnrollResponse
	if code, perr := e.post(protocol.PathEnroll, "application/json", mk(e.nonce(), "fleet-secret", priv), &resp); code != 201 || resp.DeviceID != authority.DeviceID(pub) {
		t.Fatalf("enroll: %d %v %+v", code, perr, resp)
	}
}

func TestDiscoveryNamesEveryEndpoint(t *testing.T) {
	e := newEnv(t, authority.Config{})
	r, err := http.Get(e.srv.URL + protocol.PathDiscovery)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var d map[string]any
	json.NewDecoder(r.Body).Decode(&d)
	for k, want := range map[string]string{
		"issuer": e.srv.URL, "jwks_uri": e.srv.URL + "/v1/jwks.json", "enrollment_endpoint": e.srv.URL + "/v1/enroll",
		"challenge_endpoint": e.srv.URL + "/v1/challenge", "checkin_endpoint": e.srv.URL + "/v1/checkin",
	} {
		if d[k] != want {
			t.Errorf("%s = %v, want %s", k, d[k], want)
		}
	}
	r2, _ := http.Get(e.srv.URL + "/v1/nothing")
	if r2.StatusCode != 404 {
		t.Errorf("unknown path: %d", r2.StatusCode)
	}
	r2.Body.Close()
}

// A statement larger than a check-in takes is a 413 that says the limit,
// however large the authority's general body limit is, not a 400.
func TestOversizeStatementIs413(t *testing.T) {
	e := newEnv(t, authority.Config{})
	d := e.enroll()
	big := e.statement(d, e.nonce(), healthy)
	big.Checks[0].Reason = strings.Repeat("r", 20<<10)
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"signed statement of 27 KB", sign(t, d, big)},
		{"a body of 200 KB", bytes.Repeat([]byte("a"), 200<<10)},
	} {
		code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, tc.body, nil)
		if code != http.StatusRequestEntityTooLarge || perr.Code != "too_large" || !strings.Contains(perr.Error, "16384") {
			t.Errorf("%s: %d %+v, want 413 too_large naming 16384 bytes", tc.name, code, perr)
		}
	}
	// Just within the limit, with line ends around it, the statement is
	// read (and judged on what it says).
	fits := e.statement(d, e.nonce(), healthy)
	body := sign(t, d, fits)
	fits.Checks[0].Reason = strings.Repeat("r", (healthcert.MaxTokenSize-len(body))*3/4-8)
	body = append(append([]byte("\r\n"), sign(t, d, fits)...), '\n')
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, body, nil); code != 200 {
		t.Errorf("a statement of %d bytes: %d %+v, want 200", len(body), code, perr)
	}
	if e.checkins() != 1 {
		t.Errorf("%d check-ins stored, want 1", e.checkins())
	}
}

func (e *env) deviceNonce(d device) string {
	e.t.Helper()
	var c protocol.Challenge
	if code, perr := e.post(protocol.PathChallenge+"?device="+d.id, "", nil, &c); code != 200 {
		e.t.Fatalf("challenge for %s: %d %v", d.id, code, perr)
	}
	return c.Nonce
}

// TestDeviceNonces: a nonce asked for by a device answers that device's
// check-ins alone, once; a nonce issued earlier than the one the device
// last used is refused; nothing refused is stored or acted on.
func TestDeviceNonces(t *testing.T) {
	e := newEnv(t, authority.Config{})
	d := e.enroll()
	other := e.enroll()
	early := e.deviceNonce(d)
	e.clock.Add(time.Second)
	first := e.deviceNonce(d)
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(t, d, e.statement(d, first, healthy)), nil); code != 200 {
		t.Fatalf("check-in with a device nonce: %d %v", code, perr)
	}
	before := e.checkins()
	infected := map[health.CheckID]health.Status{health.Malware: health.Fail}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"the same nonce again", sign(t, d, e.statement(d, first, healthy))},
		{"the same nonce again, infected", sign(t, d, e.statement(d, first, infected))},
		{"a nonce issued before the last one used", sign(t, d, e.statement(d, early, healthy))},
		{"another device's nonce", sign(t, d, e.statement(d, e.deviceNonce(other), healthy))},
	} {
		code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, tc.body, nil)
		if code != 400 || perr.Code != "nonce_invalid" {
			t.Errorf("%s: got %d %q (%s), want 400 nonce_invalid", tc.name, code, perr.Code, perr.Error)
		}
	}
	if n := e.checkins(); n != before {
		t.Errorf("refused check-ins were stored: %d, want %d", n, before)
	}
	if dev, err := e.store.Device(context.Background(), d.id); err != nil || dev.LastVerdict != health.Affirming {
		t.Errorf("device after refused replays = %+v, %v; want affirming", dev, err)
	}
	// The other device's own nonce, and d's next one, are good. (Nonces
	// issued in the same microsecond order by their random bytes: the
	// test clock moves on first.)
	e.clock.Add(time.Millisecond)
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(t, other, e.statement(other, e.deviceNonce(other), healthy)), nil); code != 200 {
		t.Errorf("other device's check-in: %d %v", code, perr)
	}
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(t, d, e.statement(d, e.deviceNonce(d), healthy)), nil); code != 200 {
		t.Errorf("next check-in: %d %v", code, perr)
	}
	// A device's nonce does not enroll anything.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	pk := base64.RawURLEncoding.EncodeToString(pub)
	n := e.deviceNonce(d)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	if code, perr := e.post(protocol.PathEnroll, "application/json", req, nil); code != 400 || perr.Code != "nonce_invalid" {
		t.Errorf("enrollment with a device's nonce: %d %q, want 400 nonce_invalid", code, perr.Code)
	}
	// A challenge naming something that is no device id is refused.
	for _, bad := range []string{"a%20b", strings.Repeat("x", 65), "%C3%A9"} {
		if code, perr := e.post(protocol.PathChallenge+"?device="+bad, "", nil, nil); code != 400 || perr.Code != "bad_device" {
			t.Errorf("challenge for %q: %d %q, want 400 bad_device", bad, code, perr.Code)
		}
	}
}
