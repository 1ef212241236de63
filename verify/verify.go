// Package verify is the relying party's side of herd: it checks a device's
// health certificate offline, against the health authority's published
// keys, and turns the device's verdict into a decision with the relying
// party's own rules.
//
// A bank verifies a certificate in a few lines:
//
//	v, err := verify.New(verify.Options{
//		Issuer:   "https://health.example",
//		Audience: "https://bank.example",
//		JWKSURL:  "https://health.example/jwks.json",
//	})
//	…
//	res, err := v.Verify(ctx, r.Header.Get(healthcert.HTTPHeader))
//	if err != nil { /* no valid certificate: appraise as tier none */ }
//	switch verify.Rules{}.Decide(res.Tier) { … }
//
// or wraps its handlers in [Middleware] and reads the [Appraisal] with
// [FromContext]. Every failure wraps one of the sentinel errors below, so
// callers test it with errors.Is.
//
// Only EdDSA (Ed25519) and ES256 (P-256) signatures are accepted, each only
// with a key of its own type; "none", HMAC and every other algorithm are
// rejected before any key is looked up.
package verify

import (
	"context"

	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
)

// Errors a verification fails with, for errors.Is. The first four are the
// same values as healthcert's, so either name matches.
var (
	// ErrMalformed: the token is not a well-formed health certificate
	// (bad encoding, too long, a required claim missing, a crit header).
	ErrMalformed = healthcert.ErrMalformed
	// ErrAlgorithm: the token names an algorithm herd does not accept,
	// or one that does not fit the key its kid names.
	ErrAlgorithm = healthcert.ErrAlgorithm
	// ErrUnknownKey: no published key has the token's kid.
	ErrUnknownKey = healthcert.ErrUnknownKey
	// ErrSignature: the signature does not verify.
	ErrSignature = healthcert.ErrSignature

	ErrExpired       = errors.New("certificate expired")
	ErrNotYetValid   = errors.New("certificate not yet valid")
	ErrAudience      = errors.New("certificate is for another audience")
	ErrIssuer        = errors.New("certificate is from another issuer")
	ErrNoCertificate = errors.New("no health certificate")
	// ErrKeySet: the authority's key set could not be fetched or read.
	ErrKeySet = errors.New("cannot load the authority's key set")
	// ErrRevoked: the authority revoked the certificate (reported by a
	// StatusChecker).
	ErrRevoked = errors.New("certificate revoked")
)

// StatusChecker learns whether a still-valid certificate was revoked, for
// instance from the authority's token status list. It returns nil when
// the certificate stands, an error wrapping ErrRevoked when it was
// revoked, and any other error when it cannot tell (the verification
// then fails: revocation checking fails closed).
type StatusChecker interface {
	CheckStatus(ctx context.Context, c *healthcert.Claims) error
}

// Options configure a Verifier. Zero values mean the defaults.
type Options struct {
	// Issuer, when set, must equal the certificate's iss claim: the
	// authority's public URL.
	Issuer string
	// Audience is required and must equal the certificate's aud claim:
	// the name the authority knows this relying party by.
	Audience string

	// JWKSURL is where the authority publishes its keys
	// (e.g. https://health.example/jwks.json). Set it or Keys, not both.
	JWKSURL string
	// Keys is a fixed key set, used instead of fetching JWKSURL.
	Keys healthcert.KeySet
	// HTTPClient fetches JWKSURL; default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// JWKSRefresh is how long a fetched key set is used before it is
	// fetched again; default 10 minutes. A token whose kid is not in the
	// cached set triggers one early refetch, at most every 30 seconds.
	// If a refresh fails, the keys already fetched stay in use; a failed
	// fetch is retried at most every 30 seconds.
	JWKSRefresh time.Duration

	// Now is the clock; default time.Now.
	Now func() time.Time
	// Leeway is the clock skew tolerated on exp and iat; default 30 s.
	Leeway time.Duration

	// CacheSize bounds how many verified tokens are remembered, so a
	// token seen again skips the signature check (expiry, and status when
	// a StatusChecker is set, are checked on every call). Default 10000;
	// negative disables the cache.
	CacheSize int

	// Status, when set, is asked on every verification whether the
	// certificate was revoked. Nil: revocation is not checked.
	Status StatusChecker
	// StatusMaxAge is the oldest status list (by its iat) a
	// StatusListChecker made by NewStatusChecker relies on when it cannot
	// fetch a fresh one; default 5 minutes. A revocation reaches the
	// relying party within this bound.
	StatusMaxAge time.Duration
}

// Defaults applied to zero Options fields.
const (
	DefaultLeeway      = 30 * time.Second
	DefaultJWKSRefresh = 10 * time.Minute
	DefaultCacheSize   = 10000
)

// Result is a verified certificate. It may be shared between calls that
// verify the same token: treat it as read-only.
type Result struct {
	// Claims are the certificate's claims.
	Claims *healthcert.Claims
	// Tier is the device's verdict (affirming, warning, contraindicated).
	Tier health.Tier
	// Findings are the checks that lowered, or could lower, the verdict.
	Findings []health.Finding
}

// Verifier checks health certificates. It is safe for concurrent use.
type Verifier struct {
	opts  Options
	keys  *keySource
	cache *tokenCache
}

// New validates opts and returns a Verifier. It does not fetch the key
// set; the first verification does.
func New(opts Options) (*Verifier, error) {
	switch {
	case opts.Audience == "":
		return nil, errors.New("verify: Options.Audience is required")
	case opts.JWKSURL == "" && opts.Keys == nil:
		return nil, errors.New("verify: set Options.JWKSURL or Options.Keys")
	case opts.JWKSURL != "" && opts.Keys != nil:
		return nil, errors.New("verify: set only one of Options.JWKSURL and Options.Keys")
	case opts.Leeway < 0 || opts.JWKSRefresh < 0:
		return nil, errors.New("verify: Options.Leeway and Options.JWKSRefresh cannot be negative")
	}
	if opts.JWKSURL != "" {
		u, err := url.Parse(opts.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("verify: Options.JWKSURL %q is not an http(s) URL", opts.JWKSURL)
		}
	}
	if opts.Keys != nil {
		if len(opts.Keys) == 0 {
			return nil, errors.New("verify: Options.Keys is empty")
		}
		keys := make(healthcert.KeySet, len(opts.Keys)) // the caller may change theirs later
		for kid, k := range opts.Keys {
			if _, err := healthcert.AlgFor(k); err != nil {
				return nil, fmt.Errorf("verify: Options.Keys[%q]: %w", kid, err)
			}
			keys[kid] = k
		}
		opts.Keys = keys
	}
	if opts.Leeway == 0 {
		opts.Leeway = DefaultLeeway
	}
	if opts.JWKSRefresh == 0 {
		opts.JWKSRefresh = DefaultJWKSRefresh
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	v := &Verifier{opts: opts, keys: newKeySource(opts)}
	if opts.CacheSize > 0 {
		v.cache = newTokenCache(opts.CacheSize)
	}
	return v, nil
}

// Verify checks token: its form and algorithm, its signature with the
// authority's key named by its kid, its audience and issuer, its times
// (with leeway), herd's profile and, when a StatusChecker is set, its
// revocation status. The error wraps one of the package's sentinel errors.
func (v *Verifier) Verify(ctx context.Context, token string) (*Result, error) {
	if token == "" {
		return nil, ErrNoCertificate
	}
	now := v.opts.Now()
	if v.cache != nil {
		if res := v.cache.get(token); res != nil {
			if err := v.checkTime(res.Claims, now); err != nil {
				return nil, err
			}
			if err := v.checkStatus(ctx, res.Claims); err != nil {
				return nil, err
			}
			return res, nil
		}
	}
	res, err := v.verifyFull(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(token, res, now.Add(-v.opts.Leeway))
	}
	return res, nil
}

func (v *Verifier) verifyFull(ctx context.Context, token string, now time.Time) (*Result, error) {
	claims, err := v.parse(ctx, token)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			return nil, audienceError(token, err)
		}
		return nil, err
	}
	if string(claims.Audience) != v.opts.Audience {
		return nil, fmt.Errorf("%w: aud is %q, want %q", ErrAudience, claims.Audience, v.opts.Audience)
	}
	if v.opts.Issuer != "" && claims.Issuer != v.opts.Issuer {
		return nil, fmt.Errorf("%w: iss is %q, want %q", ErrIssuer, claims.Issuer, v.opts.Issuer)
	}
	if err := v.checkTime(claims, now); err != nil {
		return nil, err
	}
	if err := v.checkStatus(ctx, claims); err != nil {
		return nil, err
	}
	d := claims.Device()
	return &Result{Claims: claims, Tier: d.Status, Findings: d.Findings}, nil
}

// parse checks token's form, its typ, its signature and its claims. The
// authority signs status lists and notices with the same keys as
// certificates; their typ (statuslist+jwt, herd-notice+jws) tells them
// apart, so one is never taken for a certificate (RFC 8725, 3.11).
func (v *Verifier) parse(ctx context.Context, token string) (*healthcert.Claims, error) {
	c, err := healthcert.ParseCompact(token)
	if err != nil {
		return nil, err
	}
	pub, err := v.keys.key(ctx, c.Header.Kid)
	if err != nil {
		return nil, err
	}
	if err := c.Verify(pub); err != nil {
		return nil, err
	}
	// After the signature, so what is refused is what the key signed.
	if !strings.EqualFold(c.Header.Typ, healthcert.TokenType) {
		return nil, fmt.Errorf("%w: typ %q is not %s: this is not a health certificate", ErrMalformed, c.Header.Typ, healthcert.TokenType)
	}
	claims := new(healthcert.Claims)
	if err := healthcert.DecodeClaims(c.Payload, claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// audienceError turns err, a malformed-token error, into ErrAudience when
// the token's signature verified but its aud names several audiences.
func audienceError(token string, err error) error {
	c, perr := healthcert.ParseCompact(token)
	if perr != nil {
		return err // malformed before the signature was checked
	}
	var probe struct {
		Aud json.RawMessage `json:"aud"`
	}
	var list []string
	if json.Unmarshal(c.Payload, &probe) == nil && json.Unmarshal(probe.Aud, &list) == nil && len(list) != 1 {
		return fmt.Errorf("%w: aud names %d audiences; a health certificate has exactly one", ErrAudience, len(list))
	}
	return err
}

func (v *Verifier) checkTime(c *healthcert.Claims, now time.Time) error {
	if exp := c.ExpiresAt(); now.After(exp.Add(v.opts.Leeway)) {
		return fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	if iat := c.IssuedAtTime(); iat.After(now.Add(v.opts.Leeway)) {
		return fmt.Errorf("%w: issued at %s, in the future", ErrNotYetValid, iat.UTC().Format(time.RFC3339))
	}
	return nil
}

func (v *Verifier) checkStatus(ctx context.Context, c *healthcert.Claims) error {
	if v.opts.Status == nil {
		return nil
	}
	err := v.opts.Status.CheckStatus(ctx, c)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRevoked):
		return err
	}
	return fmt.Errorf("cannot check revocation status: %w", err)
}
