// Package keyring holds a health authority's certificate signing keys:
// it makes the first key on first start, keeps every key in the store,
// signs with the newest, and publishes every key that may still have live
// certificates in the JWKS.
package keyring

import (
	"bytes"
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
	"sync/atomic"
	"time"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/store"
)

// Keyring is the set of signing keys. It is safe for concurrent use.
type Keyring struct {
	keys  store.Keys
	state store.KeyringState // nil when the store keeps none
	// maxLifetime is the lifetime of the certificates this node issues;
	// minRetention a floor the caller asked for. A retired key stays
	// published for the longest of these and the longest lifetime any
	// node noted in the store.
	maxLifetime, minRetention time.Duration
	now                       func() time.Time
	source                    SignerSource
	local                     LocalKeys // seals keys Rotate makes

	mu      sync.RWMutex
	current signingKey
	jwks    healthcert.JWKS
	loaded  time.Time
	signers map[string]crypto.Signer // opened keys by kid
	infos   []KeyInfo
	version int64     // the store's keys version at the last reload
	checked time.Time // when the keys version was last asked

	reloading atomic.Bool
}

// Options configure a keyring. Zero values mean the defaults.
type Options struct {
	// MaxLifetime is the lifetime of the certificates this node issues.
	// It is noted in the store (when the store keeps a KeyringState), and
	// a retired key stays published, on every node, for the longest
	// lifetime any node noted (plus two reload intervals) after it
	// stopped signing. Zero notes nothing: for a keyring that only rotates
	// or lists keys.
	MaxLifetime time.Duration
	// MinRetention keeps a retired key published at least this long; it
	// is not noted in the store.
	MinRetention time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// KEK is the key-encryption key (32 bytes): new private keys are
	// stored sealed with it (AES-256-GCM) and sealed keys are opened with
	// it. Nil stores new keys in clear.
	KEK []byte
	// Signers opens stored keys; default LocalKeys{KEK}.
	Signers SignerSource
}

// ReloadInterval is how often a keyring reads the keys again, so that a
// rotation made by another node (or by `herd keys rotate`) is picked up.
const ReloadInterval = time.Minute

// VersionInterval is how often a keyring asks the store its keys version
// (when the store keeps one), reading the keys again at once when it
// changed: a rotation reaches every busy node within this interval.
const VersionInterval = 5 * time.Second

// KeyInfo describes one stored key.
type KeyInfo struct {
	KID       string
	Alg       string
	CreatedAt time.Time
	// RetiredAt is when the next key replaced it; zero for the key
	// signing now.
	RetiredAt time.Time
	// Signing is true for the key signing now.
	Signing bool
	// Published is true while the key is in the JWKS.
	Published bool
	// Encrypted is true when the private key is sealed with a KEK.
	Encrypted bool
}

type signingKey struct {
	kid    string
	signer crypto.Signer
}

// Open loads the keys from ks, making an Ed25519 key if there is none.
// Keys are stored in clear; OpenWith takes a key-encryption key.
func Open(ctx context.Context, ks store.Keys, maxLifetime time.Duration, now func() time.Time) (*Keyring, error) {
	return OpenWith(ctx, ks, Options{MaxLifetime: maxLifetime, Now: now})
}

// OpenWith loads the keys from ks, making an Ed25519 key if there is
// none. A store whose keys are sealed fails here, with ErrKEKRequired or
// ErrWrongKEK, unless o gives the right key-encryption key.
func OpenWith(ctx context.Context, ks store.Keys, o Options) (*Keyring, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KEK != nil && len(o.KEK) != 32 {
		return nil, fmt.Errorf("keyring: the key-encryption key must be 32 bytes, not %d", len(o.KEK))
	}
	local := LocalKeys{KEK: o.KEK}
	if o.Signers == nil {
		o.Signers = local
	}
	k := &Keyring{keys: ks, maxLifetime: o.MaxLifetime, minRetention: o.MinRetention, now: o.Now, source: o.Signers, local: local, signers: map[string]crypto.Signer{}}
	if st, ok := ks.(store.KeyringState); ok {
		k.state = st
		if o.MaxLifetime > 0 {
			if err := st.NoteCertLifetime(ctx, o.MaxLifetime); err != nil {
				return nil, fmt.Errorf("keyring: %w", err)
			}
		}
	}
	list, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if len(list) == 0 {
		sk, err := k.newKey(healthcert.EdDSA)
		if err != nil {
			return nil, err
		}
		if fk, ok := ks.(store.FirstKey); ok {
			// Nodes starting at once over an empty store: one key.
			if _, err := fk.AddFirstSigningKey(ctx, sk); err != nil {
				return nil, fmt.Errorf("keyring: storing the first key: %w", err)
			}
		} else if err := ks.AddSigningKey(ctx, sk); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("keyring: storing the first key: %w", err)
		}
	}
	return k, k.Reload(ctx)
}

// Rotate makes a new signing key with alg (EdDSA or ES256) and retires the
// one signing now. It returns the new key's id.
func (k *Keyring) Rotate(ctx context.Context, alg string) (string, error) {
	sk, err := k.newKey(alg)
	if err != nil {
		return "", err
	}
	if err := k.keys.AddSigningKey(ctx, sk); err != nil {
		return "", fmt.Errorf("keyring: storing the new key: %w", err)
	}
	return sk.KID, k.Reload(ctx)
}

// newKey makes a key with alg, sealed for the store.
func (k *Keyring) newKey(alg string) (store.SigningKey, error) {
	var signer crypto.Signer
	switch alg {
	case healthcert.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return store.SigningKey{}, err
		}
		signer = priv
	case healthcert.ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return store.SigningKey{}, err
		}
		signer = priv
	default:
		return store.SigningKey{}, fmt.Errorf("keyring: algorithm %q is not supported (EdDSA or ES256)", alg)
	}
	jwk, err := healthcert.NewJWK(signer.Public(), "")
	if err != nil {
		return store.SigningKey{}, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return store.SigningKey{}, err
	}
	if privDER, err = k.local.seal(jwk.Kid, privDER); err != nil {
		return store.SigningKey{}, fmt.Errorf("keyring: sealing the new key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{KID: jwk.Kid, Alg: alg, Private: privDER, Public: pubDER, CreatedAt: k.now().UTC()}, nil
}

// Reload reads the keys from the store again (another authority node may
// have rotated them).
func (k *Keyring) Reload(ctx context.Context) error {
	var version int64
	retention := max(k.maxLifetime, k.minRetention)
	if k.state != nil {
		// The version is read first: a key added meanwhile changes it
		// again, so the next check reads the keys once more.
		v, err := k.state.KeysVersion(ctx)
		if err != nil {
			return fmt.Errorf("keyring: %w", err)
		}
		longest, err := k.state.LongestCertLifetime(ctx)
		if err != nil {
			return fmt.Errorf("keyring: %w", err)
		}
		version, retention = v, max(retention, longest)
	}
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
	infos := make([]KeyInfo, 0, len(list))
	for i, sk := range list {
		// The newest key signs; the others are retired from the moment
		// the next one was made.
		retired := sk.RetiredAt
		if retired.IsZero() && i+1 < len(list) {
			retired = list[i+1].CreatedAt
		}
		info := KeyInfo{KID: sk.KID, Alg: sk.Alg, CreatedAt: sk.CreatedAt, RetiredAt: retired, Signing: i == len(list)-1,
			Encrypted: bytes.HasPrefix(sk.Private, sealedPrefix)}
		// Another node may sign with a key until it reloads, so a key
		// stays published for the longest lifetime plus two reloads.
		if !retired.IsZero() && now.Sub(retired) > retention+2*ReloadInterval {
			infos = append(infos, info)
			continue // every certificate it signed has expired
		}
		info.Published = true
		infos = append(infos, info)
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
			k.mu.RLock()
			signer := k.signers[sk.KID]
			k.mu.RUnlock()
			if signer == nil {
				if signer, err = k.source.Signer(ctx, sk); err != nil {
					return fmt.Errorf("keyring: %w", err)
				}
			}
			current = signingKey{kid: sk.KID, signer: signer}
		}
	}
	k.mu.Lock()
	k.current, k.jwks, k.loaded, k.infos = current, jwks, now, infos
	k.version, k.checked = version, now
	k.signers[current.kid] = current.signer
	k.mu.Unlock()
	return nil
}

// maybeReload reads the keys again in the background when they were
// read more than ReloadInterval ago, or when the store's keys version,
// asked every VersionInterval, changed.
func (k *Keyring) maybeReload() {
	now := k.now()
	k.mu.RLock()
	stale := now.Sub(k.loaded) > ReloadInterval
	check := k.state != nil && now.Sub(k.checked) > VersionInterval
	version := k.version
	k.mu.RUnlock()
	if !(stale || check) || !k.reloading.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer k.reloading.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if !stale {
			v, err := k.state.KeysVersion(ctx)
			if err != nil || v == version {
				k.mu.Lock()
				k.checked = now
				k.mu.Unlock()
				return
			}
		}
		k.Reload(ctx) // on failure the keys held stay in use
	}()
}

// Keys describes every stored key, oldest first, as of the last reload.
func (k *Keyring) Keys() []KeyInfo {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return append([]KeyInfo(nil), k.infos...)
}

// Signer returns the key signing now and its id.
func (k *Keyring) Signer() (crypto.Signer, string) {
	k.maybeReload()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.signer, k.current.kid
}

// CurrentJWKS returns the published keys as the store holds them now: it
// asks the store's keys version (one small read) and, when it changed,
// reads the keys again before answering, so a key rotated through any
// node or the command line is published at once. When the version
// cannot be read the keys held are returned with the error.
func (k *Keyring) CurrentJWKS(ctx context.Context) (healthcert.JWKS, error) {
	var err error
	if k.state != nil {
		k.mu.RLock()
		held := k.version
		k.mu.RUnlock()
		var v int64
		if v, err = k.state.KeysVersion(ctx); err == nil && v != held {
			err = k.Reload(ctx)
		}
	}
	return k.JWKS(), err
}

// JWKS returns the published keys.
func (k *Keyring) JWKS() healthcert.JWKS {
	k.maybeReload()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return healthcert.JWKS{Keys: append([]healthcert.JWK(nil), k.jwks.Keys...)}
}
