package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/verify"
	"github.com/herd-health/herd/verify/verifytest"
)

const aud = "https://bank.example"

var b64 = base64.RawURLEncoding

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newVerifier(t *testing.T, o verify.Options) *verify.Verifier {
	t.Helper()
	if o.Audience == "" {
		o.Audience = aud
	}
	v, err := verify.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// craft builds a compact JWS from a header and payload (any JSON-able
// value or raw []byte) and a signing function over the signing input.
func craft(t *testing.T, hdr, payload any, sign func([]byte) []byte) string {
	t.Helper()
	enc := func(v any) string {
		if b, ok := v.([]byte); ok {
			return b64.EncodeToString(b)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b64.EncodeToString(b)
	}
	input := enc(hdr) + "." + enc(payload)
	return input + "." + b64.EncodeToString(sign([]byte(input)))
}

func edSign(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

func esSign(t *testing.T, priv *ecdsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, priv, h[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

// payloadOf decodes a token's claims into a generic map, to edit them.
func payloadOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerifyAccepts(t *testing.T) {
	a := verifytest.NewAuthority(t)
	v := newVerifier(t, verify.Options{Issuer: a.Issuer(), JWKSURL: a.JWKSURL()})
	findings := []health.Finding{{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported}}
	for _, tier := range []health.Tier{health.Affirming, health.Warning, health.Contraindicated, health.None} {
		t.Run(string(tier), func(t *testing.T) {
			tok := a.Issue(aud, tier, verifytest.Findings(findings...), verifytest.Subject("pseudonym-1"))
			res, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if res.Tier != tier || res.Claims.Tier() != tier {
				t.Errorf("tier = %q, want %q", res.Tier, tier)
			}
			if len(res.Findings) != 1 || res.Findings[0] != findings[0] {
				t.Errorf("findings = %+v, want %+v", res.Findings, findings)
			}
			if res.Claims.Subject != "pseudonym-1" || string(res.Claims.Audience) != aud || res.Claims.Issuer != a.Issuer() {
				t.Errorf("claims = %+v", res.Claims)
			}
		})
	}
	if n := a.Fetches(); n != 1 {
		t.Errorf("key set fetched %d times, want 1 (cached)", n)
	}
}

func TestVerifyRejects(t *testing.T) {
	a := verifytest.NewAuthority(t)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := a.Keys()
	keys["p256"] = &p256.PublicKey
	v := newVerifier(t, verify.Options{Issuer: a.Issuer(), Keys: keys})
	kid := a.KeyID()
	authPriv := a.Signer().(ed25519.PrivateKey)
	authPub := authPriv.Public().(ed25519.PublicKey)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)

	good := a.Issue(aud, health.Contraindicated)
	claims := payloadOf(t, good)
	edHdr := map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"}
	withClaims := func(edit func(m map[string]any)) map[string]any {
		m := payloadOf(t, good)
		edit(m)
		return m
	}
	parts := strings.Split(good, ".")
	now := time.Now()

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", verify.ErrNoCertificate},
		{"alg none, empty signature", craft(t, map[string]any{"alg": "none", "typ": "JWT"}, claims, func([]byte) []byte { return nil }), verify.ErrAlgorithm},
		{"alg none, no signature part", strings.Join(strings.Split(craft(t, map[string]any{"alg": "none"}, claims, func([]byte) []byte { return nil }), ".")[:2], "."), verify.ErrAlgorithm},
		{"alg None capitalised", craft(t, map[string]any{"alg": "None", "kid": kid}, claims, func([]byte) []byte { return nil }), verify.ErrAlgorithm},
		{"HS256 keyed with the public key", craft(t, map[string]any{"alg": "HS256", "kid": kid}, claims, func(in []byte) []byte {
			m := hmac.New(sha256.New, authPub)
			m.Write(in)
			return m.Sum(nil)
		}), verify.ErrAlgorithm},
		{"ES256 header on the Ed25519 key", craft(t, map[string]any{"alg": "ES256", "kid": kid}, claims, esSign(t, p256)), verify.ErrAlgorithm},
		{"EdDSA header on the P-256 key", craft(t, map[string]any{"alg": "EdDSA", "kid": "p256"}, claims, edSign(authPriv)), verify.ErrAlgorithm},
		{"RS256", craft(t, map[string]any{"alg": "RS256", "kid": kid}, claims, edSign(authPriv)), verify.ErrAlgorithm},
		{"unknown kid", craft(t, map[string]any{"alg": "EdDSA", "kid": "nobody"}, claims, edSign(authPriv)), verify.ErrUnknownKey},
		{"no kid", craft(t, map[string]any{"alg": "EdDSA"}, claims, edSign(authPriv)), verify.ErrUnknownKey},
		{"another key, right kid", craft(t, edHdr, claims, edSign(otherPriv)), verify.ErrSignature},
		{"wrong audience", a.Issue("https://other.example", health.Affirming), verify.ErrAudience},
		{"audience array of two", craft(t, edHdr, withClaims(func(m map[string]any) { m["aud"] = []string{aud, "https://other.example"} }), edSign(authPriv)), verify.ErrAudience},
		{"audience empty array", craft(t, edHdr, withClaims(func(m map[string]any) { m["aud"] = []string{} }), edSign(authPriv)), verify.ErrAudience},
		{"wrong issuer", a.Issue(aud, health.Affirming, verifytest.Issuer("https://evil.example")), verify.ErrIssuer},
		{"expired beyond leeway", a.Issue(aud, health.Affirming, verifytest.IssuedAt(now.Add(-2*time.Hour)), verifytest.ExpiresAt(now.Add(-31*time.Second))), verify.ErrExpired},
		{"not yet valid", a.Issue(aud, health.Affirming, verifytest.IssuedAt(now.Add(5*time.Minute))), verify.ErrNotYetValid},
		{"tampered payload", parts[0] + "." + b64.EncodeToString(mustJSON(t, withClaims(func(m map[string]any) {
			m["submods"].(map[string]any)["device"].(map[string]any)["ear.status"] = "affirming"
		}))) + "." + parts[2], verify.ErrSignature},
		{"tampered header", b64.EncodeToString(mustJSON(t, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt"})) + "." + parts[1] + "." + parts[2], verify.ErrSignature},
		{"truncated at the last dot", good[:strings.LastIndex(good, ".")], verify.ErrMalformed},
		// 80 of 86 characters: canonical base64url of 60 bytes.
		{"truncated signature", good[:len(good)-6], verify.ErrSignature},
		{"one part", parts[0], verify.ErrMalformed},
		{"four parts", good + ".xx", verify.ErrMalformed},
		{"garbage base64", "!!!.???.***", verify.ErrMalformed},
		{"garbage payload base64", parts[0] + ".%%%%." + parts[2], verify.ErrMalformed},
		{"header not JSON", b64.EncodeToString([]byte("alg=EdDSA")) + "." + parts[1] + "." + parts[2], verify.ErrMalformed},
		{"header with trailing data", b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"`+kid+`"}{}`)) + "." + parts[1] + "." + parts[2], verify.ErrMalformed},
		{"20 KB token", craft(t, edHdr, withClaims(func(m map[string]any) { m["pad"] = strings.Repeat("A", 20<<10) }), edSign(authPriv)), verify.ErrMalformed},
		{"crit header", craft(t, map[string]any{"alg": "EdDSA", "kid": kid, "crit": []string{"exp"}, "exp": 1}, claims, edSign(authPriv)), verify.ErrMalformed},
		{"payload not JSON", craft(t, edHdr, []byte("hello"), edSign(authPriv)), verify.ErrMalformed},
		{"missing sub", craft(t, edHdr, withClaims(func(m map[string]any) { delete(m, "sub") }), edSign(authPriv)), verify.ErrMalformed},
		{"missing exp", craft(t, edHdr, withClaims(func(m map[string]any) { delete(m, "exp") }), edSign(authPriv)), verify.ErrMalformed},
		{"missing submods", craft(t, edHdr, withClaims(func(m map[string]any) { delete(m, "submods") }), edSign(authPriv)), verify.ErrMalformed},
		{"foreign profile", craft(t, edHdr, withClaims(func(m map[string]any) { m["eat_profile"] = "tag:example.com,2026:other" }), edSign(authPriv)), verify.ErrMalformed},
		{"unknown tier", craft(t, edHdr, withClaims(func(m map[string]any) {
			m["submods"].(map[string]any)["device"].(map[string]any)["ear.status"] = "healthy"
		}), edSign(authPriv)), verify.ErrMalformed},
		{"exp as a string", craft(t, edHdr, withClaims(func(m map[string]any) { m["exp"] = "tomorrow" }), edSign(authPriv)), verify.ErrMalformed},
		// The authority's key also signs status lists and notices: a token
		// of another type, signed with it and carrying a certificate's
		// claims, is still not a certificate.
		{"status list typ", craft(t, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "statuslist+jwt"}, claims, edSign(authPriv)), verify.ErrMalformed},
		{"notice typ", craft(t, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "herd-notice+jws"}, claims, edSign(authPriv)), verify.ErrMalformed},
		{"statement typ", craft(t, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "herd-statement+jws"}, claims, edSign(authPriv)), verify.ErrMalformed},
		{"access token typ", craft(t, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}, claims, edSign(authPriv)), verify.ErrMalformed},
		{"no typ", craft(t, map[string]any{"alg": "EdDSA", "kid": kid}, claims, edSign(authPriv)), verify.ErrMalformed},
		{"typ JWT with a suffix", craft(t, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT "}, claims, edSign(authPriv)), verify.ErrMalformed},
		{"a real status list token", statusListToken(t, authPriv, kid), verify.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Verify(context.Background(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: err = %v, want %v", err, tt.want)
			}
			if res != nil {
				t.Errorf("Verify returned a result with an error: %+v", res)
			}
			// Sentinels do not overlap: a rejection names one reason.
			for _, other := range []error{verify.ErrMalformed, verify.ErrAlgorithm, verify.ErrUnknownKey, verify.ErrSignature,
				verify.ErrExpired, verify.ErrNotYetValid, verify.ErrAudience, verify.ErrIssuer, verify.ErrNoCertificate, verify.ErrKeySet} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("err %v also matches %v", err, other)
				}
			}
		})
	}
	// The untouched original still verifies, so the rejections above are
	// due to the edits.
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("original token: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyAcceptsES256AndOneElementAudienceArray(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := verifytest.NewAuthority(t)
	claims := payloadOf(t, a.Issue(aud, health.Warning))
	claims["aud"] = []string{aud}
	tok := craft(t, map[string]any{"alg": "ES256", "kid": "ec", "typ": "JWT"}, claims, esSign(t, p256))
	v := newVerifier(t, verify.Options{Keys: healthcert.KeySet{"ec": &p256.PublicKey}})
	res, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tier != health.Warning {
		t.Errorf("tier = %q", res.Tier)
	}
}

func TestLeeway(t *testing.T) {
	a := verifytest.NewAuthority(t)
	now := time.Now()
	tests := []struct {
		name   string
		leeway time.Duration
		opt    verifytest.Option
		want   error
	}{
		{"expired within default leeway", 0, verifytest.Claims(func(c *healthcert.Claims) {
			c.IssuedAt, c.Expiry = now.Add(-time.Hour).Unix(), now.Add(-20*time.Second).Unix()
		}), nil},
		{"expired beyond a 10s leeway", 10 * time.Second, verifytest.Claims(func(c *healthcert.Claims) {
			c.IssuedAt, c.Expiry = now.Add(-time.Hour).Unix(), now.Add(-20*time.Second).Unix()
		}), verify.ErrExpired},
		{"issued slightly in the future", 0, verifytest.IssuedAt(now.Add(20 * time.Second)), nil},
		{"issued beyond a 10s leeway", 10 * time.Second, verifytest.IssuedAt(now.Add(20 * time.Second)), verify.ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, verify.Options{Keys: a.Keys(), Leeway: tt.leeway, Now: func() time.Time { return now }})
			_, err := v.Verify(context.Background(), a.Issue(aud, health.Affirming, tt.opt))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExpiryCheckedOnCachedToken(t *testing.T) {
	a := verifytest.NewAuthority(t)
	clk := newClock()
	v := newVerifier(t, verify.Options{Keys: a.Keys(), Now: clk.Now})
	tok := a.Issue(aud, health.Affirming, verifytest.Lifetime(10*time.Minute))
	for i := 0; i < 2; i++ {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	clk.Advance(11 * time.Minute)
	_, err := v.Verify(context.Background(), tok)
	if !errors.Is(err, verify.ErrExpired) {
		t.Fatalf("err = %v, want ErrExpired", err)
	}
	want := "certificate expired at " + time.Unix(payloadOfInt(t, tok, "exp"), 0).UTC().Format(time.RFC3339)
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func payloadOfInt(t *testing.T, tok, claim string) int64 {
	return int64(payloadOf(t, tok)[claim].(float64))
}

func TestKeySetErrors(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/jwks.json"
	dead.Close()
	serve := func(status int, body string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(s.Close)
		return s.URL + "/jwks.json"
	}
	a := verifytest.NewAuthority(t)
	tok := a.Issue(aud, health.Affirming)
	tests := []struct {
		name, url string
	}{
		{"unreachable", deadURL},
		{"404", serve(http.StatusNotFound, "not found")},
		{"not JSON", serve(http.StatusOK, "<html>")},
		{"bad key only", serve(http.StatusOK, `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"not-base64!","kid":"`+a.KeyID()+`"}]}`)},
		{"short key only", serve(http.StatusOK, `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"`+a.KeyID()+`"}]}`)},
		{"RSA key only", serve(http.StatusOK, `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"`+a.KeyID()+`"}]}`)},
		{"empty set", serve(http.StatusOK, `{"keys":[]}`)},
		{"too large", serve(http.StatusOK, `{"keys":[],"pad":"`+strings.Repeat("A", 2<<20)+`"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, verify.Options{JWKSURL: tt.url})
			_, err := v.Verify(context.Background(), tok)
			if !errors.Is(err, verify.ErrKeySet) {
				t.Fatalf("err = %v, want ErrKeySet", err)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	a := verifytest.NewAuthority(t)
	clk := newClock()
	v := newVerifier(t, verify.Options{JWKSURL: a.JWKSURL(), Now: clk.Now})
	ctx := context.Background()
	old := a.Issue(aud, health.Affirming)
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	a.Rotate(true)
	fresh := a.Issue(aud, health.Warning)

	// Within the rate limit an unknown kid does not refetch.
	if _, err := v.Verify(ctx, fresh); !errors.Is(err, verify.ErrUnknownKey) {
		t.Fatalf("right after a fetch: err = %v, want ErrUnknownKey", err)
	}
	if n := a.Fetches(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
	// Later, the unknown kid triggers one refetch and verifies.
	clk.Advance(time.Minute)
	res, err := v.Verify(ctx, fresh)
	if err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if res.Tier != health.Warning {
		t.Errorf("tier = %q", res.Tier)
	}
	if n := a.Fetches(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
	// The old key is still published, so old certificates still verify.
	if _, err := v.Verify(ctx, a.Issue(aud, health.Affirming, verifytest.Subject("x"))); err != nil {
		t.Fatal(err)
	}
	// Garbage kids cannot make the verifier hammer the authority.
	for i := 0; i < 20; i++ {
		bogus := craft(t, map[string]any{"alg": "EdDSA", "kid": fmt.Sprint("bogus", i)}, payloadOf(t, fresh), edSign(a.Signer().(ed25519.PrivateKey)))
		if _, err := v.Verify(ctx, bogus); !errors.Is(err, verify.ErrUnknownKey) {
			t.Fatalf("bogus kid: %v", err)
		}
	}
	if n := a.Fetches(); n != 2 {
		t.Fatalf("fetches after bogus kids = %d, want 2", n)
	}
	// After JWKSRefresh the set is fetched again; a key no longer
	// published stops verifying new tokens.
	a.Rotate(false)
	clk.Advance(verify.DefaultJWKSRefresh + time.Second)
	if _, err := v.Verify(ctx, a.Issue(aud, health.Affirming)); err != nil {
		t.Fatal(err)
	}
	if n := a.Fetches(); n != 3 {
		t.Fatalf("fetches = %d, want 3", n)
	}
	_, err = v.Verify(ctx, craft(t, map[string]any{"alg": "EdDSA", "kid": payloadKid(t, old)}, payloadOf(t, old), func([]byte) []byte { return make([]byte, 64) }))
	if !errors.Is(err, verify.ErrUnknownKey) {
		t.Fatalf("retired key: err = %v, want ErrUnknownKey", err)
	}
}

func payloadKid(t *testing.T, tok string) string {
	t.Helper()
	c, err := healthcert.ParseCompact(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c.Header.Kid
}

func TestKeySetKeptWhenRefreshFails(t *testing.T) {
	a := verifytest.NewAuthority(t)
	var fail sync.Map
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := fail.Load("on"); ok {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		resp, err := http.Get(a.JWKSURL())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	clk := newClock()
	v := newVerifier(t, verify.Options{JWKSURL: proxy.URL, Now: clk.Now, CacheSize: -1})
	ctx := context.Background()
	if _, err := v.Verify(ctx, a.Issue(aud, health.Affirming)); err != nil {
		t.Fatal(err)
	}
	fail.Store("on", true)
	clk.Advance(verify.DefaultJWKSRefresh + time.Second)
	if _, err := v.Verify(ctx, a.Issue(aud, health.Affirming)); err != nil {
		t.Fatalf("stale keys should stay in use when the refresh fails: %v", err)
	}
}

type statusFunc func(context.Context, *healthcert.Claims) error

func (f statusFunc) CheckStatus(ctx context.Context, c *healthcert.Claims) error { return f(ctx, c) }

func TestStatusChecker(t *testing.T) {
	a := verifytest.NewAuthority(t)
	revoked := a.Issue(aud, health.Affirming, verifytest.Subject("revoked"))
	fine := a.Issue(aud, health.Affirming, verifytest.Subject("fine"))
	unsure := a.Issue(aud, health.Affirming, verifytest.Subject("unsure"))
	calls := 0
	v := newVerifier(t, verify.Options{Keys: a.Keys(), Status: statusFunc(func(_ context.Context, c *healthcert.Claims) error {
		calls++
		switch c.Subject {
		case "revoked":
			return fmt.Errorf("%w: status list entry 7", verify.ErrRevoked)
		case "unsure":
			return errors.New("status list unreachable")
		}
		return nil
	})})
	ctx := context.Background()
	if _, err := v.Verify(ctx, fine); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, fine); err != nil { // cached, status asked again
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, revoked); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("revoked: err = %v", err)
	}
	if _, err := v.Verify(ctx, unsure); err == nil || errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("unknown status must fail closed, not as revoked: err = %v", err)
	}
	if calls != 4 {
		t.Errorf("status checked %d times, want 4", calls)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	a := verifytest.NewAuthority(t)
	tests := []struct {
		name string
		o    verify.Options
	}{
		{"no audience", verify.Options{Keys: a.Keys()}},
		{"no keys", verify.Options{Audience: aud}},
		{"both key sources", verify.Options{Audience: aud, Keys: a.Keys(), JWKSURL: a.JWKSURL()}},
		{"empty key set", verify.Options{Audience: aud, Keys: healthcert.KeySet{}}},
		{"not a URL", verify.Options{Audience: aud, JWKSURL: "jwks.json"}},
		{"file URL", verify.Options{Audience: aud, JWKSURL: "file:///etc/jwks.json"}},
		{"negative leeway", verify.Options{Audience: aud, Keys: a.Keys(), Leeway: -time.Second}},
		{"HMAC key", verify.Options{Audience: aud, Keys: healthcert.KeySet{"k": []byte("secret")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := verify.New(tt.o); err == nil {
				t.Fatalf("New accepted %+v: %v", tt.o, v)
			}
		})
	}
}

func TestConcurrentVerify(t *testing.T) {
	a := verifytest.NewAuthority(t)
	v := newVerifier(t, verify.Options{JWKSURL: a.JWKSURL(), CacheSize: 4})
	toks := make([]string, 16)
	for i := range toks {
		toks[i] = a.Issue(aud, health.Affirming)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(toks))
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tok := range toks {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := a.Fetches(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}

// A caller that gives up while the key set is being fetched does not
// stop the next caller from fetching it.
func TestKeySetFetchCancelled(t *testing.T) {
	a := verifytest.NewAuthority(t)
	v := newVerifier(t, verify.Options{JWKSURL: a.JWKSURL()})
	tok := a.Issue(aud, health.Affirming)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrKeySet) {
		t.Fatalf("cancelled: err = %v, want ErrKeySet", err)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("after a cancelled fetch: %v", err)
	}
}

// statusListToken is a status list token as the authority signs one.
func statusListToken(t *testing.T, priv ed25519.PrivateKey, kid string) string {
	now := time.Now().Unix()
	return craft(t, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "statuslist+jwt"},
		map[string]any{"sub": "https://authority.example/v1/status/1", "iss": "https://authority.example", "iat": now, "exp": now + 3600, "ttl": 60,
			"status_list": map[string]any{"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}, edSign(priv))
}

// The typ of a certificate is compared as a media type is: "jwt" is JWT.
func TestVerifyTypCaseInsensitive(t *testing.T) {
	a := verifytest.NewAuthority(t)
	claims := payloadOf(t, a.Issue(aud, health.Affirming))
	tok := craft(t, map[string]any{"alg": "EdDSA", "kid": a.KeyID(), "typ": "jwt"}, claims, edSign(a.Signer().(ed25519.PrivateKey)))
	if _, err := newVerifier(t, verify.Options{Keys: a.Keys()}).Verify(context.Background(), tok); err != nil {
		t.Errorf("typ jwt: %v", err)
	}
}
