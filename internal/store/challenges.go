package store

import (
	"context"
	"time"
)

// UsedNonces keeps the challenge nonces that were answered. Challenges are
// self-authenticating (the authority MACs what it hands out), so issuing
// one stores nothing and every node can check one; what must be shared is
// the fact that a nonce was used, and that is kept here. Rows expire with
// their nonces: DeleteExpiredNonces removes used nonces past expiry too.
//
// A check-in records its nonce in its own transaction instead, through
// Checkin.NonceKey.
type UsedNonces interface {
	// UseNonce records key as used until expires. It succeeds once per
	// key; a key already used gives ErrNonceUnknown.
	UseNonce(ctx context.Context, key []byte, expires time.Time) error
	// NonceUsed reports whether key was recorded as used. It lets a
	// replay be refused before the check-in does any work; the insert in
	// the check-in's transaction still decides a race between two copies.
	NonceUsed(ctx context.Context, key []byte) (bool, error)
}
