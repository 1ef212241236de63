// Package authority is the health authority's HTTP API: discovery, keys,
// enrollment, single-use challenges and check-ins that turn a signed
// Statement of Health into health certificates.
package authority

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// Config is the authority's configuration. Zero values mean the defaults
// documented on each field.
type Config struct {
	// Issuer is the authority's public URL, the iss of its certificates.
	Issuer string
	// CertificateLifetime is how long a health certificate lives (default
	// 4 hours, as NAP health certificates did).
	CertificateLifetime time.Duration
	// NonceLifetime is how long a challenge may be answered (default 2 minutes).
	NonceLifetime time.Duration
	// ClockSkew is how far a statement's issued_at may be from the
	// authority's clock (default 5 minutes).
	ClockSkew time.Duration
	// CheckinInterval is how often devices are asked to check in
	// (default 1 hour).
	CheckinInterval time.Duration
	// MaxBodyBytes bounds request bodies (default 256 KiB).
	MaxBodyBytes int64
	// EnrollmentToken, when set, must be presented to enroll (managed
	// fleets); empty means open enrollment.
	EnrollmentToken string
	// Build names this software in ear.verifier-id.
	Build string
	// Operations configures rate limits, enrollment mode, metrics access
	// and retention (see OperationsConfig).
	Operations OperationsConfig
}

func (c *Config) setDefaults() {
	if c.CertificateLifetime == 0 {
		c.CertificateLifetime = 4 * time.Hour
	}
	if c.NonceLifetime == 0 {
		c.NonceLifetime = 2 * time.Minute
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 5 * time.Minute
	}
	if c.CheckinInterval == 0 {
		c.CheckinInterval = time.Hour
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 256 << 10
	}
	if c.Build == "" {
		c.Build = "herd"
	}
}

// Validate reports the first thing wrong with the configuration.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("issuer %q must be an http(s) URL", c.Issuer)
	}
	if c.CertificateLifetime < time.Minute || c.CertificateLifetime > 7*24*time.Hour {
		return fmt.Errorf("certificate lifetime %s must be between a minute and a week", c.CertificateLifetime)
	}
	return nil
}

// Deps are what the authority runs on.
type Deps struct {
	Store  store.Store
	Keys   *keyring.Keyring
	Policy *policy.Policy
	Logger *slog.Logger
	// Now gives the time; nil means time.Now.
	Now func() time.Time
	// Operations enables the admin API, relying-party webhooks and stored
	// enrollment tokens; nil turns them off.
	Operations store.Operations
}

// Authority serves the protocol. Make one with New.
type Authority struct {
	cfg      Config
	store    store.Store
	keys     *keyring.Keyring
	policy   *policy.Policy
	log      *slog.Logger
	now      func() time.Time
	pairwise []byte
	mux      *http.ServeMux
	ops      *operations
	intelS   *intelState // nil: no indicators or sightings (SetIntel)
}

// New validates cfg and builds an authority.
func New(ctx context.Context, cfg Config, d Deps) (*Authority, error) {
	cfg.setDefaults()
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	if d.Store == nil || d.Keys == nil || d.Policy == nil {
		return nil, errors.New("authority: store, keys and policy are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	secret, err := d.Store.Secret(ctx, "pairwise-subject", func() []byte { return randomBytes(32) })
	if err != nil {
		return nil, fmt.Errorf("authority: pairwise secret: %w", err)
	}
	a := &Authority{cfg: cfg, store: d.Store, keys: d.Keys, policy: d.Policy, log: d.Logger, now: d.Now, pairwise: secret}
	if err := a.initOperations(d.Operations); err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	a.routes()
	return a, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func randomID(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// ServeHTTP makes the authority an http.Handler.
func (a *Authority) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.serveOperations(w, r) }

// Discovery is the configuration document.
func (a *Authority) Discovery() protocol.Discovery {
	return protocol.Discovery{
		Issuer:                     a.cfg.Issuer,
		JWKSURI:                    a.cfg.Issuer + protocol.PathJWKS,
		EnrollmentEndpoint:         a.cfg.Issuer + protocol.PathEnroll,
		ChallengeEndpoint:          a.cfg.Issuer + protocol.PathChallenge,
		CheckinEndpoint:            a.cfg.Issuer + protocol.PathCheckin,
		IndicatorsURI:              a.indicatorsURI(),
		PolicyID:                   a.policy.ID(),
		CertificateLifetimeSeconds: int64(a.cfg.CertificateLifetime / time.Second),
	}
}

// PairwiseSubject is the device's pseudonym at one relying party: the
// same device gets unrelated ids at different audiences, and nobody
// without the authority's secret can link them.
func (a *Authority) PairwiseSubject(deviceID, audience string) string {
	m := hmac.New(sha256.New, a.pairwise)
	m.Write([]byte(deviceID))
	m.Write([]byte{0})
	m.Write([]byte(audience))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// issue signs one certificate.
func (a *Authority) issue(deviceID, aud string, ap policy.Appraisal, now time.Time) (protocol.Certificate, error) {
	signer, kid := a.keys.Signer()
	exp := now.Add(a.cfg.CertificateLifetime)
	c := &healthcert.Claims{
		Issuer:     a.cfg.Issuer,
		Audience:   healthcert.Audience(aud),
		Subject:    a.PairwiseSubject(deviceID, aud),
		IssuedAt:   now.Unix(),
		Expiry:     exp.Unix(),
		ID:         randomID(16),
		Profile:    healthcert.Profile,
		VerifierID: healthcert.VerifierID{Build: a.cfg.Build, Developer: "https://github.com/herd-health/herd"},
		Submods: map[string]healthcert.Appraisal{healthcert.SubmodDevice: {
			Status:   ap.Tier,
			PolicyID: ap.PolicyID,
			Findings: ap.Findings,
		}},
	}
	tok, err := healthcert.Sign(signer, kid, c)
	if err != nil {
		return protocol.Certificate{}, err
	}
	return protocol.Certificate{Audience: aud, Token: tok, ExpiresAt: time.Unix(c.Expiry, 0).UTC()}, nil
}
