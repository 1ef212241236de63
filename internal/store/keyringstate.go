package store

import (
	"context"
	"time"
)

// KeyringState is what every node's keyring must agree on beyond the
// keys themselves.
type KeyringState interface {
	// NoteCertLifetime records that a node issues certificates that live
	// up to d; the store keeps the longest ever noted.
	NoteCertLifetime(ctx context.Context, d time.Duration) error
	// LongestCertLifetime is the longest lifetime ever noted; 0 when none.
	LongestCertLifetime(ctx context.Context) (time.Duration, error)
	// KeysVersion changes whenever a signing key is added: a cheap
	// question a node asks often to learn of a rotation.
	KeysVersion(ctx context.Context) (int64, error)
}

// KeyringLongestLifetime names the longest lifetime in the keyring state.
const KeyringLongestLifetime = "longest_cert_lifetime_us"

// FirstKey adds a store's first signing key without a race: nodes
// starting at once over an empty store end with one key between them.
type FirstKey interface {
	// AddFirstSigningKey stores k only when the store holds no signing
	// key, and reports whether it did. Of callers racing, exactly one
	// adds its key.
	AddFirstSigningKey(ctx context.Context, k SigningKey) (bool, error)
}
