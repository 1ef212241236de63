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
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/taxii"
)

// Config is the authority's configuration. Zero values mean the defaults
// documented on each field.
type Config struct {
	// Issuer is the authority's public URL, the iss of its certificates.
	Issuer string
	// AllowInsecureWebhooks lets relying parties register plain-http
	// webhook URLs to any host (default: https, or http to loopback).
	AllowInsecureWebhooks bool
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
	// StatusListSize is how many certificates one status list indexes
	// before the next list is started (default 1,000,000).
	StatusListSize int64
	// StatusListTTL is the ttl of status list tokens: how long relying
	// parties may use one before fetching it again (default 1 minute).
	StatusListTTL time.Duration
	// StatusCacheTime is how long a node serves the same signed status
	// list token before signing a fresh one (default 5 seconds).
	StatusCacheTime time.Duration
	// IntelCacheTTL is how long a node trusts what it last read of the
	// indicator bundle version and of whether any sighting question is
	// open or recently confirmed (intelcache.go). Zero reads both on every
	// check-in; herd serve uses 2 seconds, so an import or a sighting made
	// on another node or by the CLI reaches devices within that time.
	IntelCacheTTL time.Duration
	// TrustedProxies are CIDRs of reverse proxies in front of the
	// authority. Only for a request from one of them is X-Forwarded-For
	// read: its rightmost address that is not a trusted proxy is the
	// client (for rate limits, audit records and GeoIP). Empty: the
	// peer's own address always.
	TrustedProxies []string
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
	if c.StatusListSize == 0 {
		c.StatusListSize = 1_000_000
	}
	if c.StatusListTTL == 0 {
		c.StatusListTTL = time.Minute
	}
	if c.StatusCacheTime == 0 {
		c.StatusCacheTime = 5 * time.Second
	}
}

// Check reports the first thing wrong with the configuration, its
// defaults applied, before anything is built with it.
func (c Config) Check() error {
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return err
	}
	ops := c.Operations
	ops.setDefaults()
	if err := ops.Validate(); err != nil {
		return err
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil {
			return fmt.Errorf("trusted proxy %q is not a CIDR", p)
		}
	}
	return nil
}

// LoopbackTrusted reports whether the rate limits exempt loopback
// (trusted_networks, loopback by default) while no trusted_proxies are
// set: a reverse proxy on the same host would then exempt every client
// it forwards.
func (c Config) LoopbackTrusted() bool {
	if len(c.TrustedProxies) > 0 || c.Operations.RateLimits.Off {
		return false
	}
	nets := c.Operations.TrustedNetworks
	if nets == nil {
		return true
	}
	for _, n := range nets {
		if _, ipn, err := net.ParseCIDR(n); err == nil && (ipn.Contains(net.IPv4(127, 0, 0, 1)) || ipn.Contains(net.IPv6loopback)) {
			return true
		}
	}
	return false
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
	if c.StatusListSize < 8 || c.StatusListTTL < time.Second || c.StatusCacheTime < 0 {
		return fmt.Errorf("status list size %d must be at least 8 and its ttl %s at least a second", c.StatusListSize, c.StatusListTTL)
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
	// Status keeps status lists; nil turns revocation off (certificates
	// then carry no status claim).
	Status store.StatusLists
	// Population serves /v1/population/ to admin token holders; nil turns
	// it off.
	Population *population.Service
	// GeoIP gives check-ins their country; nil leaves it "" (unknown).
	GeoIP CountryResolver
	// TAXII serves the population export to sharing partners at
	// /taxii2/; nil turns it off.
	TAXII *taxii.Population
	// Policies keeps policy versions: every node appraises with the one
	// activated last (Policy until one is), and learns of a new one
	// within PolicyCheckInterval. Nil: Policy, always.
	Policies store.Policies
	// Sealer seals the secrets the authority keeps in the store (pairwise
	// subjects, nonce and indicator-token MAC keys, webhook signing
	// secrets) with the key-encryption key; the zero Sealer keeps them
	// in clear.
	Sealer keyring.Sealer
}

// Authority serves the protocol. Make one with New.
type Authority struct {
	cfg      Config
	store    store.Store
	keys     *keyring.Keyring
	pol      policyState // policystore.go
	log      *slog.Logger
	sealer   keyring.Sealer
	now      func() time.Time
	pairwise []byte
	nonceKey []byte // nonce.go
	mux      *http.ServeMux
	ops      *operations
	intelS   *intelState  // nil: no indicators or sightings (SetIntel)
	status   *statusState // nil: revocation off
	devices  deviceCache  // devcache.go
	pop      *populationState
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
	secret, err := d.Sealer.Secret(ctx, d.Store, "pairwise-subject", func() []byte { return randomBytes(32) })
	if err != nil {
		return nil, fmt.Errorf("authority: pairwise secret: %w", err)
	}
	a := &Authority{cfg: cfg, store: d.Store, keys: d.Keys, log: d.Logger, now: d.Now, pairwise: secret, sealer: d.Sealer}
	if err := a.initPolicy(ctx, d.Policy, d.Policies); err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	if err := a.initNonces(ctx); err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	if d.Status != nil {
		a.status = &statusState{lists: d.Status, cache: map[int64]cachedStatus{}}
	}
	if err := a.initOperations(d.Operations); err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	if err := a.initPopulation(cfg, d); err != nil {
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

// certificateID is a certificate's jti: its issue time in milliseconds
// as 12 hex digits, then 80 random bits in base64url. Stores index
// certificates by jti, and ids that sort by time are appended to that
// index instead of landing on a random page at every check-in; the time
// they show is no finer than what iat says.
func certificateID(now time.Time) string {
	b := make([]byte, 0, 12+14)
	b = fmt.Appendf(b, "%012x", uint64(now.UnixMilli())&(1<<48-1))
	return string(base64.RawURLEncoding.AppendEncode(b, randomBytes(10)))
}

// ServeHTTP makes the authority an http.Handler.
func (a *Authority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.serveOperations(w, a.forwarded(r))
}

// Discovery is the configuration document.
func (a *Authority) Discovery() protocol.Discovery {
	return protocol.Discovery{
		Issuer:                     a.cfg.Issuer,
		JWKSURI:                    a.cfg.Issuer + protocol.PathJWKS,
		EnrollmentEndpoint:         a.cfg.Issuer + protocol.PathEnroll,
		ChallengeEndpoint:          a.cfg.Issuer + protocol.PathChallenge,
		CheckinEndpoint:            a.cfg.Issuer + protocol.PathCheckin,
		IndicatorsURI:              a.indicatorsURI(),
		StatusListURI:              a.currentStatusURI(),
		PolicyID:                   a.currentPolicy().ID(),
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

// issue signs one certificate, with its status list entry when status
// is not nil.
func (a *Authority) issue(deviceID, aud string, ap policy.Appraisal, now time.Time, status *statusSlot) (protocol.Certificate, store.IssuedCertificate, error) {
	signer, kid := a.keys.Signer()
	exp := now.Add(a.cfg.CertificateLifetime)
	c := &healthcert.Claims{
		Issuer:     a.cfg.Issuer,
		Audience:   healthcert.Audience(aud),
		Subject:    a.PairwiseSubject(deviceID, aud),
		IssuedAt:   now.Unix(),
		Expiry:     exp.Unix(),
		ID:         certificateID(now),
		Profile:    healthcert.Profile,
		VerifierID: healthcert.VerifierID{Build: a.cfg.Build, Developer: "https://github.com/herd-health/herd"},
		Submods: map[string]healthcert.Appraisal{healthcert.SubmodDevice: {
			Status:   ap.Tier,
			PolicyID: ap.PolicyID,
			Findings: ap.Findings,
		}},
	}
	if status != nil {
		c.Status = &healthcert.StatusRef{StatusList: healthcert.StatusListRef{Index: int(status.idx), URI: a.statusURI(status.list)}}
	}
	tok, err := healthcert.Sign(signer, kid, c)
	if err != nil {
		return protocol.Certificate{}, store.IssuedCertificate{}, err
	}
	rec := store.IssuedCertificate{JTI: c.ID, DeviceID: deviceID, Audience: aud, IssuedAt: now.UTC(), ExpiresAt: c.ExpiresAt().UTC()}
	if status != nil {
		rec.ListID, rec.Index = status.list, status.idx
	}
	return protocol.Certificate{Audience: aud, Token: tok, ExpiresAt: time.Unix(c.Expiry, 0).UTC()}, rec, nil
}
