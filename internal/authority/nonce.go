package authority

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// Challenges are self-authenticating, so issuing one touches no database
// and any node of the authority can check one: a nonce is
//
//	base64url(issued_at || random || MAC)
//
// with issued_at the Unix time in microseconds (8 bytes, big endian),
// random 16 bytes, and MAC the first 16 bytes of HMAC-SHA256 under the
// "challenge-nonce" secret that all nodes share through the store, over
// issued_at || random. Single use is the store's job: the MAC, the
// nonce's key, is inserted into the used nonces in the transaction of the
// check-in (or enrollment) it answers, and a second insert is refused.

const (
	nonceTimeLen = 8
	nonceRandLen = 16
	nonceMACLen  = 16
	nonceLen     = nonceTimeLen + nonceRandLen + nonceMACLen
)

// nonceSecretName is the store secret challenge MACs are keyed with.
const nonceSecretName = "challenge-nonce"

func (a *Authority) initNonces(ctx context.Context) error {
	k, err := a.sealer.Secret(ctx, a.store, nonceSecretName, func() []byte { return randomBytes(32) })
	if err != nil {
		return fmt.Errorf("challenge secret: %w", err)
	}
	a.nonceKey = k
	return nil
}

func (a *Authority) nonceMAC(dst, msg []byte) []byte {
	m := hmac.New(sha256.New, a.nonceKey)
	m.Write(msg)
	return m.Sum(dst)[:len(dst)+nonceMACLen]
}

// newNonce makes a challenge issued at now.
func (a *Authority) newNonce(now time.Time) string {
	var b [nonceLen + sha256.Size - nonceMACLen]byte
	binary.BigEndian.PutUint64(b[:nonceTimeLen], uint64(now.UnixMicro()))
	copy(b[nonceTimeLen:nonceTimeLen+nonceRandLen], randomBytes(nonceRandLen))
	a.nonceMAC(b[:nonceTimeLen+nonceRandLen], b[:nonceTimeLen+nonceRandLen])
	return base64.RawURLEncoding.EncodeToString(b[:nonceLen])
}

// checkNonce checks a challenge's MAC and age and returns its key (for
// the used nonces) and when it expires. It answers nonce_invalid for a
// nonce this authority did not issue and nonce_expired for one too old.
func (a *Authority) checkNonce(nonce string, now time.Time) (key []byte, expires time.Time, err error) {
	var b [nonceLen + 1]byte
	invalid := errorf(http.StatusBadRequest, "nonce_invalid", "the challenge nonce is unknown or was already used; ask for a new one")
	if base64.RawURLEncoding.DecodedLen(len(nonce)) != nonceLen {
		return nil, time.Time{}, invalid
	}
	if n, derr := base64.RawURLEncoding.Decode(b[:], []byte(nonce)); derr != nil || n != nonceLen {
		return nil, time.Time{}, invalid
	}
	var want [sha256.Size]byte
	if !hmac.Equal(a.nonceMAC(want[:0], b[:nonceTimeLen+nonceRandLen]), b[nonceTimeLen+nonceRandLen:nonceLen]) {
		return nil, time.Time{}, invalid
	}
	issued := time.UnixMicro(int64(binary.BigEndian.Uint64(b[:nonceTimeLen])))
	expires = issued.Add(a.cfg.NonceLifetime)
	if now.After(expires) {
		return nil, time.Time{}, errorf(http.StatusBadRequest, "nonce_expired", "the challenge nonce has expired; ask for a new one")
	}
	if issued.Sub(now) > a.cfg.ClockSkew {
		// Made by a node whose clock is far ahead: not a nonce to trust.
		return nil, time.Time{}, invalid
	}
	return append([]byte(nil), b[nonceTimeLen+nonceRandLen:nonceLen]...), expires, nil
}

// useNonce checks a challenge and uses it up on its own (enrollment; a
// check-in uses its nonce in its own transaction instead).
func (a *Authority) useNonce(r *http.Request, nonce string) error {
	key, exp, err := a.checkNonce(nonce, a.now())
	if err != nil {
		return err
	}
	return nonceUseError(a.store.UseNonce(r.Context(), key, exp))
}

// nonceUseError turns the store's answer to using a nonce into the
// API's.
func nonceUseError(err error) error {
	switch {
	case errors.Is(err, store.ErrNonceUnknown):
		return errorf(http.StatusBadRequest, "nonce_invalid", "the challenge nonce is unknown or was already used; ask for a new one")
	case err != nil:
		return fmt.Errorf("using a nonce: %w", err)
	}
	return nil
}
