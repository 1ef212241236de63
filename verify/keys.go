package verify

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herd-health/herd/healthcert"
)

// minRefetch is the shortest time between two fetches of the key set
// caused by unknown kids or failed fetches, so garbage tokens cannot make
// the verifier hammer the authority.
const minRefetch = 30 * time.Second

// maxJWKSSize bounds the key set document read from the authority.
const maxJWKSSize = 1 << 20

// keySource hands out the authority's public keys: a fixed set, or one
// fetched from a URL and cached.
type keySource struct {
	static  healthcert.KeySet
	url     string
	client  *http.Client
	now     func() time.Time
	refresh time.Duration

	cur atomic.Pointer[keySnapshot]

	mu        sync.Mutex // serialises fetches
	lastTry   time.Time
	lastError error
}

type keySnapshot struct {
	keys    healthcert.KeySet
	fetched time.Time
}

func newKeySource(o Options) *keySource {
	return &keySource{static: o.Keys, url: o.JWKSURL, client: o.HTTPClient, now: o.Now, refresh: o.JWKSRefresh}
}

func unknownKid(kid string) error {
	return fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// key returns the key named kid.
func (s *keySource) key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	if s.static != nil {
		if k, ok := s.static[kid]; ok {
			return k, nil
		}
		return nil, unknownKid(kid)
	}
	now := s.now()
	snap := s.cur.Load()
	fresh := snap != nil && now.Sub(snap.fetched) < s.refresh
	if fresh {
		if k, ok := snap.keys[kid]; ok {
			return k, nil
		}
	}
	snap, err := s.update(ctx, now, fresh)
	if err != nil {
		return nil, err
	}
	if k, ok := snap.keys[kid]; ok {
		return k, nil
	}
	return nil, unknownKid(kid)
}

// update fetches the key set if it is missing or stale, or, for an
// unknown kid, if the last fetch is at least minRefetch old. When a
// refresh fails the keys already held stay in use.
func (s *keySource) update(ctx context.Context, now time.Time, forUnknownKid bool) (*keySnapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.cur.Load()
	if snap != nil {
		age := now.Sub(snap.fetched)
		if forUnknownKid && age < minRefetch {
			return snap, nil
		}
		if !forUnknownKid && age < s.refresh {
			return snap, nil // fetched by another caller meanwhile
		}
	}
	if !s.lastTry.IsZero() && now.Sub(s.lastTry) < minRefetch && (s.lastError != nil || forUnknownKid) {
		if snap != nil {
			return snap, nil
		}
		return nil, s.lastError
	}
	ks, err := s.fetch(ctx)
	if err != nil && ctx.Err() != nil {
		// The caller gave up; that says nothing about the authority, so
		// it neither counts as a try nor delays the next caller.
		return nil, fmt.Errorf("%w: %v", ErrKeySet, ctx.Err())
	}
	s.lastTry = now
	if err != nil {
		s.lastError = err
		if snap != nil {
			return snap, nil
		}
		return nil, err
	}
	s.lastError = nil
	snap = &keySnapshot{keys: ks, fetched: now}
	s.cur.Store(snap)
	return snap, nil
}

func (s *keySource) fetch(ctx context.Context) (healthcert.KeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeySet, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeySet, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %s", ErrKeySet, s.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrKeySet, s.url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrKeySet, s.url, maxJWKSSize)
	}
	return parseKeySet(body, s.url)
}

// parseKeySet reads a JWKS document; from names it in errors.
// An empty from adds nothing (healthcert's errors already say "key set").
func parseKeySet(b []byte, from string) (healthcert.KeySet, error) {
	wrap := func(err error) error {
		if from == "" {
			return fmt.Errorf("%w: %v", ErrKeySet, err)
		}
		return fmt.Errorf("%w: %s: %v", ErrKeySet, from, err)
	}
	jwks, err := healthcert.ParseJWKS(b)
	if err != nil {
		return nil, wrap(err)
	}
	ks, err := jwks.KeySet()
	if err != nil {
		return nil, wrap(err)
	}
	return ks, nil
}

// ParseKeySet reads a JWKS document (for instance a file saved from the
// authority's jwks_uri) into a KeySet for Options.Keys. Keys of other
// types are skipped; a set with no usable key is an error wrapping
// ErrKeySet.
func ParseKeySet(jwks []byte) (healthcert.KeySet, error) {
	return parseKeySet(jwks, "")
}
