package verify

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/herd-health/herd/healthcert"
)

// ErrStatusUnavailable: the certificate's status list could not be
// fetched or read, and no copy young enough is at hand; the verification
// fails closed.
var ErrStatusUnavailable = errors.New("certificate status unavailable")

// DefaultStatusMaxAge is the default Options.StatusMaxAge.
const DefaultStatusMaxAge = 5 * time.Minute

// Status list token format (draft-ietf-oauth-status-list).
const (
	statusListTyp       = "statuslist+jwt"
	statusListMediaType = "application/statuslist+jwt"
	maxStatusTokenSize  = 8 << 20
	maxStatusListBytes  = 32 << 20 // decompressed
	statusRetryAfter    = 5 * time.Second
	// statusGrowAfter is how long after a fetch a certificate naming an
	// index beyond the list held makes the list be fetched again: the
	// list may have grown since (an authority that serves only the
	// indices handed out so far).
	statusGrowAfter = time.Second
)

// StatusListChecker is the StatusChecker for the status claim of herd's
// certificates: it fetches the status list token the certificate names
// (IETF OAuth Token Status List), checks its signature with the
// authority's keys and that its sub is that URI, keeps it until its ttl
// (at most Options.StatusMaxAge) runs out, and reads the certificate's
// bit. A cached list is only a bit lookup per verification.
//
// When a fresh list cannot be fetched, the one held stays in use until
// it is StatusMaxAge old (by its iat) or past its exp; after that the
// check fails with ErrStatusUnavailable. A certificate with no status
// claim was issued without revocation and stands.
type StatusListChecker struct {
	keys   *keySource
	client *http.Client
	now    func() time.Time
	maxAge time.Duration
	issuer string

	mu    sync.RWMutex
	lists map[string]*statusSnapshot

	fetchMu sync.Mutex // serialises fetches
}

type statusSnapshot struct {
	bits     int
	list     []byte
	iat, exp time.Time // exp zero: none
	ttl      time.Duration
	fetched  time.Time
	lastTry  time.Time
	lastErr  error
}

// NewStatusChecker makes a StatusListChecker that trusts the keys
// Options.Keys or Options.JWKSURL name, with Options.StatusMaxAge,
// HTTPClient, Issuer (when set, only status lists under the issuer's URL
// are fetched) and Now. Pass it as Options.Status to New.
func NewStatusChecker(opts Options) (*StatusListChecker, error) {
	if opts.JWKSURL == "" && opts.Keys == nil {
		return nil, errors.New("verify: set Options.JWKSURL or Options.Keys")
	}
	if opts.StatusMaxAge < 0 {
		return nil, errors.New("verify: Options.StatusMaxAge cannot be negative")
	}
	if opts.StatusMaxAge == 0 {
		opts.StatusMaxAge = DefaultStatusMaxAge
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
	return &StatusListChecker{
		keys: newKeySource(opts), client: opts.HTTPClient, now: opts.Now, maxAge: opts.StatusMaxAge,
		issuer: strings.TrimSuffix(opts.Issuer, "/"), lists: map[string]*statusSnapshot{},
	}, nil
}

// CheckStatus implements StatusChecker.
func (s *StatusListChecker) CheckStatus(ctx context.Context, c *healthcert.Claims) error {
	if c.Status == nil {
		return nil
	}
	ref := c.Status.StatusList
	now := s.now()
	s.mu.RLock()
	snap := s.lists[ref.URI]
	s.mu.RUnlock()
	if snap == nil || !snap.fresh(now, s.maxAge) {
		var err error
		if snap, err = s.update(ctx, ref.URI, now, nil); err != nil {
			return err
		}
	}
	if !snap.holds(ref.Index) && now.Sub(snap.fetched) >= statusGrowAfter && now.Sub(snap.lastTry) >= statusGrowAfter {
		// A certificate issued after the list was fetched: fetch it again
		// (at most every statusGrowAfter) before failing.
		if fresh, err := s.update(ctx, ref.URI, now, snap); err == nil {
			snap = fresh
		}
	}
	return snap.status(ref.Index)
}

// holds reports whether idx is inside the list.
func (p *statusSnapshot) holds(idx int) bool {
	return idx >= 0 && int64(idx)*int64(p.bits)/8 < int64(len(p.list))
}

// refreshAfter is how long a fetched list is used before it is fetched
// again: its ttl, at most the maximum staleness.
func (p *statusSnapshot) refreshAfter(maxAge time.Duration) time.Duration {
	if p.ttl > 0 && p.ttl < maxAge {
		return p.ttl
	}
	return maxAge
}

func (p *statusSnapshot) fresh(now time.Time, maxAge time.Duration) bool {
	return now.Sub(p.fetched) < p.refreshAfter(maxAge) && p.usable(now, maxAge)
}

// usable: not expired and not older than the maximum staleness.
func (p *statusSnapshot) usable(now time.Time, maxAge time.Duration) bool {
	if !p.exp.IsZero() && !now.Before(p.exp) {
		return false
	}
	return now.Sub(p.iat) <= maxAge
}

// status reads entry idx.
func (p *statusSnapshot) status(idx int) error {
	bit := int64(idx) * int64(p.bits)
	if idx < 0 || bit/8 >= int64(len(p.list)) {
		return fmt.Errorf("%w: index %d is outside the status list of %d entries", ErrStatusUnavailable, idx, int64(len(p.list))*8/int64(p.bits))
	}
	v := p.list[bit/8] >> (bit % 8) & (1<<p.bits - 1)
	switch v {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w (status list index %d)", ErrRevoked, idx)
	case 2:
		return fmt.Errorf("%w: suspended (status list index %d)", ErrRevoked, idx)
	}
	return fmt.Errorf("%w: status 0x%02x (status list index %d)", ErrRevoked, v, idx)
}

// update fetches the list at uri unless another caller did meanwhile.
// stale, when not nil, is a fresh copy that no longer serves (it is too
// short): it is fetched again unless it was already replaced.
func (s *StatusListChecker) update(ctx context.Context, uri string, now time.Time, stale *statusSnapshot) (*statusSnapshot, error) {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	s.mu.RLock()
	old := s.lists[uri]
	s.mu.RUnlock()
	if stale != nil && old != stale {
		if old != nil && old.list != nil {
			return old, nil // replaced by another caller meanwhile
		}
		return stale, nil
	}
	if stale == nil && old != nil && old.fresh(now, s.maxAge) {
		return old, nil // fetched by another caller meanwhile
	}
	if old != nil && old.lastErr != nil && now.Sub(old.lastTry) < statusRetryAfter {
		if old.usable(now, s.maxAge) {
			return old, nil
		}
		return nil, old.lastErr
	}
	snap, err := s.fetch(ctx, uri, now)
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrStatusUnavailable, err)
		if old == nil {
			old = &statusSnapshot{}
		}
		keep := *old
		keep.lastTry, keep.lastErr = now, err
		s.mu.Lock()
		s.lists[uri] = &keep
		s.mu.Unlock()
		if old.list != nil && old.usable(now, s.maxAge) {
			return &keep, nil
		}
		if old.list != nil {
			return nil, fmt.Errorf("%w (the list held is from %s, older than %s)", err, old.iat.UTC().Format(time.RFC3339), s.maxAge)
		}
		return nil, err
	}
	s.mu.Lock()
	if len(s.lists) > 4096 {
		clear(s.lists)
	}
	s.lists[uri] = snap
	s.mu.Unlock()
	return snap, nil
}

func (s *StatusListChecker) fetch(ctx context.Context, uri string, now time.Time) (*statusSnapshot, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("status list uri %q is not an http(s) URL", uri)
	}
	if s.issuer != "" && !strings.HasPrefix(uri, s.issuer+"/") {
		return nil, fmt.Errorf("status list uri %q is not under the issuer %s", uri, s.issuer)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", statusListMediaType)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", uri, resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != statusListMediaType {
		return nil, fmt.Errorf("%s is %q, not a status list token (%s)", uri, resp.Header.Get("Content-Type"), statusListMediaType)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusTokenSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", uri, err)
	}
	if len(body) > maxStatusTokenSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", uri, maxStatusTokenSize)
	}
	snap, err := s.parse(ctx, strings.TrimSpace(string(body)), uri, now)
	if err != nil {
		return nil, fmt.Errorf("status list %s: %w", uri, err)
	}
	snap.fetched = now
	return snap, nil
}

// parse verifies and decodes a status list token for uri.
func (s *StatusListChecker) parse(ctx context.Context, token, uri string, now time.Time) (*statusSnapshot, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	var hdr healthcert.Header
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if hdr.Alg != healthcert.EdDSA && hdr.Alg != healthcert.ES256 {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, hdr.Alg)
	}
	if hdr.Typ != statusListTyp || len(hdr.Crit) > 0 {
		return nil, fmt.Errorf("%w: typ %q is not %s", ErrMalformed, hdr.Typ, statusListTyp)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	pub, err := s.keys.key(ctx, hdr.Kid)
	if err != nil {
		return nil, err
	}
	if err := verifySignature(pub, hdr.Alg, []byte(parts[0]+"."+parts[1]), sig); err != nil {
		return nil, err
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	var claims struct {
		Sub        string   `json:"sub"`
		Iat        *float64 `json:"iat"`
		Exp        *float64 `json:"exp"`
		TTL        *float64 `json:"ttl"`
		StatusList *struct {
			Bits int    `json:"bits"`
			Lst  string `json:"lst"`
		} `json:"status_list"`
	}
	if err := json.Unmarshal(pb, &claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if claims.Sub != uri {
		return nil, fmt.Errorf("%w: sub %q is not the uri %q", ErrMalformed, claims.Sub, uri)
	}
	if claims.Iat == nil || claims.StatusList == nil {
		return nil, fmt.Errorf("%w: iat and status_list are required", ErrMalformed)
	}
	p := &statusSnapshot{bits: claims.StatusList.Bits, iat: time.Unix(int64(*claims.Iat), 0)}
	if claims.Exp != nil {
		p.exp = time.Unix(int64(*claims.Exp), 0)
		if !now.Before(p.exp) {
			return nil, fmt.Errorf("%w: the list expired at %s", ErrExpired, p.exp.UTC().Format(time.RFC3339))
		}
	}
	if claims.TTL != nil && *claims.TTL > 0 {
		p.ttl = time.Duration(*claims.TTL * float64(time.Second))
	}
	switch p.bits {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("%w: bits %d is not 1, 2, 4 or 8", ErrMalformed, p.bits)
	}
	z, err := base64.RawURLEncoding.DecodeString(claims.StatusList.Lst)
	if err != nil {
		return nil, fmt.Errorf("%w: lst is not base64url", ErrMalformed)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("%w: lst is not ZLIB data: %v", ErrMalformed, err)
	}
	p.list, err = io.ReadAll(io.LimitReader(zr, maxStatusListBytes+1))
	if err != nil || len(p.list) > maxStatusListBytes {
		return nil, fmt.Errorf("%w: lst does not decompress within %d bytes: %v", ErrMalformed, maxStatusListBytes, err)
	}
	return p, nil
}

// verifySignature checks a JWS signature; the key type must fit alg.
func verifySignature(pub crypto.PublicKey, alg string, input, sig []byte) error {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if alg != healthcert.EdDSA {
			return fmt.Errorf("%w: %s token for an Ed25519 key", ErrAlgorithm, alg)
		}
		if !ed25519.Verify(k, input, sig) {
			return ErrSignature
		}
		return nil
	case *ecdsa.PublicKey:
		if alg != healthcert.ES256 || k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: %s token for a P-256 key", ErrAlgorithm, alg)
		}
		if len(sig) != 64 {
			return ErrSignature
		}
		h := sha256.Sum256(input)
		if !ecdsa.Verify(k, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return ErrSignature
		}
		return nil
	}
	return fmt.Errorf("%w: %T", healthcert.ErrUnsupportedK, pub)
}
