// Package keyring holds a health authority's certificate signing keys:
// it makes the first key on first start, keeps every key in the store,
// signs with the newest, and publishes every key that may still have live
// certificates in the JWKS.
package keyring

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/store"
)

// Keyring is the set of signing keys. It is safe for concurrent use.
type Keyring struct {
	keys store.Keys
	// maxLifetime is the longest certificate lifetime: a retired key stays
	// published this long after it stopped signing.
	maxLifetime time.Duration
	now         func() time.Time

	mu      sync.RWMutex
	current signingKey
	jwks    healthcert.JWKS
	loaded  time.Time
}

type signingKey struct {
	kid    string
	signer crypto.Signer
}

// Open loads the keys from ks, making an Ed25519 key if there is none.
func Open(ctx context.Context, ks store.Keys, maxLifetime time.Duration, now func() time.Time) (*Keyring, error) {
	if now == nil {
		now = time.Now
	}
	k := &Keyring{keys: ks, maxLifetime: maxLifetime, now: now}
	list, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if len(list) == 0 {
		if _, err := k.Rotate(ctx, healthcert.EdDSA); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	return k, k.Reload(ctx)
}

// Rotate makes a new signing key with alg (EdDSA or ES256) and retires the
// one signing now. It returns the new key's id.
func (k *Keyring) Rotate(ctx context.Context, alg string) (string, error) {
	var signer crypto.Signer
	switch alg {
	case healthcert.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", err
		}
		signer = priv
	case healthcert.ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", err
		}
		signer = priv
	default:
		return "", fmt.Errorf("keyring: algorithm %q is not supported (EdDSA or ES256)", alg)
	}
	jwk, err := healthcert.NewJWK(signer.Public(), "")
	if err != nil {
		return "", err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return "", err
	}
	err = k.keys.AddSigningKey(ctx, store.SigningKey{
		KID: jwk.Kid, Alg: alg, Private: privDER, Public: pubDER, CreatedAt: k.now().UTC(),
	})
	if err != nil {
		return "", fmt.Errorf("keyring: storing the new key: %w", err)
	}
	return jwk.Kid, k.Reload(ctx)
}

// Reload reads the keys from the store again (another authority node may
// have rotated them).
func (k *Keyring) Reload(ctx context.Context) error {
	list, err := k.keys.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if len(list) == 0 {
		return errors.New("keyring: no signing keys")
	}
	now := k.now()
	var jwks healthcert.JWKS
	var current signingKey
	for i, sk := range list {
		// The newest key signs; the others are retired from the moment
		// the next one was made.
		retired := sk.RetiredAt
		if retired.IsZero() && i+1 < len(list) {
			retired = list[i+1].CreatedAt
		}
		if !retired.IsZero() && now.Sub(retired) > k.maxLifetime+time.Minute {
			continue // every certificate it signed has expired
		}
		pub, err := x509.ParsePKIXPublicKey(sk.Public)
		if err != nil {
			return fmt.Errorf("keyring: key %s: %w", sk.KID, err)
		}
		jwk, err := healthcert.NewJWK(pub, sk.KID)
		if err != nil {
			return fmt.Errorf("keyring: key %s: %w", sk.KID, err)
		}
		jwks.Keys = append(jwks.Keys, jwk)
		if i == len(list)-1 {
			priv, err := x509.ParsePKCS8PrivateKey(sk.Private)
			if err != nil {
				return fmt.Errorf("keyring: key %s: %w", sk.KID, err)
			}
			signer, ok := priv.(crypto.Signer)
			if !ok {
				return fmt.Errorf("keyring: key %s is not a signing key", sk.KID)
			}
			current = signingKey{kid: sk.KID, signer: signer}
		}
	}
	k.mu.Lock()
	k.current, k.jwks, k.loaded = current, jwks, now
	k.mu.Unlock()
	return nil
}

// Signer returns the key signing now and its id.
func (k *Keyring) Signer() (crypto.Signer, string) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.signer, k.current.kid
}

// JWKS returns the published keys.
func (k *Keyring) JWKS() healthcert.JWKS {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return healthcert.JWKS{Keys: append([]healthcert.JWK(nil), k.jwks.Keys...)}
}
