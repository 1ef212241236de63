// Package verifytest is a fake health authority for relying parties' own
// tests: a real Ed25519 key, a JWKS served over loopback HTTP, and real
// signed health certificates for any audience and tier.
//
//	a := verifytest.NewAuthority(t)
//	v, _ := verify.New(verify.Options{Issuer: a.Issuer(), Audience: "bank", JWKSURL: a.JWKSURL()})
//	token := a.Issue("bank", health.Warning, verifytest.Findings(health.Finding{ID: health.Firewall, Status: health.Fail}))
package verifytest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
)

// Authority is a fake health authority. Its JWKS is at JWKSURL.
type Authority struct {
	t      testing.TB
	server *httptest.Server

	mu        sync.Mutex
	signer    crypto.Signer
	kid       string
	published []healthcert.JWK
	fetches   int
}

// NewAuthority starts a fake authority with a fresh Ed25519 key; it stops
// when the test ends.
func NewAuthority(t testing.TB) *Authority {
	t.Helper()
	a := &Authority{t: t}
	a.Rotate(false)
	a.server = httptest.NewServer(http.HandlerFunc(a.serveJWKS))
	t.Cleanup(a.server.Close)
	return a
}

func (a *Authority) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/jwks.json" {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	a.fetches++
	b, err := json.Marshal(healthcert.JWKS{Keys: a.published})
	a.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(b)
}

// Issuer is the authority's issuer (iss), its server's URL.
func (a *Authority) Issuer() string { return a.server.URL }

// JWKSURL is where the authority serves its key set.
func (a *Authority) JWKSURL() string { return a.server.URL + "/jwks.json" }

// Fetches counts the requests for the key set so far.
func (a *Authority) Fetches() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fetches
}

// KeyID is the kid of the current signing key.
func (a *Authority) KeyID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.kid
}

// Signer is the current signing key, for tests that build tokens by hand.
func (a *Authority) Signer() crypto.Signer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.signer
}

// Keys is the published key set, for verify.Options.Keys.
func (a *Authority) Keys() healthcert.KeySet {
	a.mu.Lock()
	defer a.mu.Unlock()
	ks, err := healthcert.JWKS{Keys: a.published}.KeySet()
	if err != nil {
		a.t.Fatalf("verifytest: %v", err)
	}
	return ks
}

// Rotate makes a new signing key and publishes it. With keepOld the
// previous keys stay published (as a real authority keeps them until its
// last certificate expires); without it only the new key is.
func (a *Authority) Rotate(keepOld bool) {
	a.t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		a.t.Fatalf("verifytest: %v", err)
	}
	jwk, err := healthcert.NewJWK(priv.Public(), "")
	if err != nil {
		a.t.Fatalf("verifytest: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.signer, a.kid = priv, jwk.Kid
	if !keepOld {
		a.published = nil
	}
	a.published = append(a.published, jwk)
}

// An Option changes a certificate Issue makes.
type Option func(*healthcert.Claims)

// IssuedAt sets iat and keeps the lifetime (default one hour).
func IssuedAt(t time.Time) Option {
	return func(c *healthcert.Claims) {
		life := c.Expiry - c.IssuedAt
		c.IssuedAt = t.Unix()
		c.Expiry = c.IssuedAt + life
	}
}

// ExpiresAt sets exp.
func ExpiresAt(t time.Time) Option {
	return func(c *healthcert.Claims) { c.Expiry = t.Unix() }
}

// Lifetime sets exp to iat + d.
func Lifetime(d time.Duration) Option {
	return func(c *healthcert.Claims) { c.Expiry = c.IssuedAt + int64(d/time.Second) }
}

// Findings sets the device's findings.
func Findings(f ...health.Finding) Option {
	return func(c *healthcert.Claims) {
		d := c.Submods[healthcert.SubmodDevice]
		d.Findings = f
		c.Submods[healthcert.SubmodDevice] = d
	}
}

// Issuer sets iss (default: the authority's URL).
func Issuer(iss string) Option {
	return func(c *healthcert.Claims) { c.Issuer = iss }
}

// Subject sets sub (default: a random pairwise pseudonym).
func Subject(sub string) Option {
	return func(c *healthcert.Claims) { c.Subject = sub }
}

// Claims edits the claims freely, after the other options.
func Claims(f func(*healthcert.Claims)) Option { return f }

// Issue returns a certificate for aud with verdict tier, signed with the
// authority's current key, issued now and valid for an hour unless opts
// say otherwise.
func (a *Authority) Issue(aud string, tier health.Tier, opts ...Option) string {
	a.t.Helper()
	now := time.Now()
	c := &healthcert.Claims{
		Issuer:     a.Issuer(),
		Audience:   healthcert.Audience(aud),
		Subject:    randomID(a.t),
		IssuedAt:   now.Unix(),
		Expiry:     now.Add(time.Hour).Unix(),
		ID:         randomID(a.t),
		Profile:    healthcert.Profile,
		VerifierID: healthcert.VerifierID{Build: "verifytest", Developer: "https://github.com/herd-health/herd"},
		Submods: map[string]healthcert.Appraisal{
			healthcert.SubmodDevice: {Status: tier, PolicyID: "verifytest@1"},
		},
	}
	for _, o := range opts {
		o(c)
	}
	a.mu.Lock()
	signer, kid := a.signer, a.kid
	a.mu.Unlock()
	token, err := healthcert.Sign(signer, kid, c)
	if err != nil {
		a.t.Fatalf("verifytest: issue: %v", err)
	}
	return token
}

func randomID(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("verifytest: %v", err)
	}
	return hex.EncodeToString(b)
}
