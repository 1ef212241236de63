package store

import (
	"bytes"
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
// Checkin.NonceKey, or through Checkin.DeviceNonce when the nonce was
// issued to that device alone.
type UsedNonces interface {
	// UseNonce records key as used until expires. It succeeds once per
	// key; a key already used gives ErrNonceUnknown.
	UseNonce(ctx context.Context, key []byte, expires time.Time) error
	// NonceUsed reports whether key was recorded as used. It lets a
	// replay be refused before the check-in does any work; the insert in
	// the check-in's transaction still decides a race between two copies.
	NonceUsed(ctx context.Context, key []byte) (bool, error)
	DeviceNonces
}

// DeviceNonce is a challenge nonce issued to one device: the time it was
// issued, then its random bytes. Nonces of one device are ordered by
// time, then by their random bytes, and a device's check-ins must use
// ever later ones: so a nonce is used at most once, and the store keeps
// one nonce per device instead of a row per nonce. A device that asked
// for two nonces and answers with the earlier one last is refused and
// asks again.
type DeviceNonce struct {
	IssuedAt int64  // Unix microseconds
	Random   []byte // at most 32 bytes
}

// After reports whether n orders after the latest nonce (at, random) a
// device used. An empty random orders before every other.
func (n DeviceNonce) After(at int64, random []byte) bool {
	if n.IssuedAt != at {
		return n.IssuedAt > at
	}
	return bytes.Compare(n.Random, random) > 0
}

// DeviceNonces tells whether a device has used a nonce, for a check-in
// that must refuse a replay before it can act outside its transaction;
// the check-in's transaction still decides a race between two copies.
type DeviceNonces interface {
	DeviceNonceUsed(ctx context.Context, deviceID string, n DeviceNonce) (bool, error)
}
