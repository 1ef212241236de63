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
// issued_at || random, followed by the device id for a nonce issued to
// one device. Single use is the store's job, in the transaction of the
// check-in (or enrollment) the nonce answers:
//
//   - A nonce asked for by a device (the challenge names it: ?device=ID)
//     has the top bit of its first random byte set, and answers only that
//     device's check-ins. The device's check-ins must use ever later
//     nonces (store.DeviceNonce): the one used becomes the device's
//     latest, in the device's own row, and an equal or earlier one is
//     refused. No row per used nonce is written.
//   - Any other nonce (enrollment, an agent that does not name itself):
//     its MAC, the nonce's key, is inserted into the used nonces, and a
//     second insert is refused.

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

// nonceBound marks, in the first random byte, a nonce issued to one
// device.
const nonceBound = 0x80

// maxNonceDeviceLen bounds the device id a challenge can name.
const maxNonceDeviceLen = 64

func (a *Authority) nonceMAC(dst, msg []byte, deviceID string) []byte {
	m := hmac.New(sha256.New, a.nonceKey)
	m.Write(msg)
	m.Write([]byte(deviceID))
	return m.Sum(dst)[:len(dst)+nonceMACLen]
}

// newNonce makes a challenge issued at now, to the device deviceID alone
// when it is not empty.
func (a *Authority) newNonce(now time.Time, deviceID string) string {
	var b [nonceLen + sha256.Size - nonceMACLen]byte
	binary.BigEndian.PutUint64(b[:nonceTimeLen], uint64(now.UnixMicro()))
	copy(b[nonceTimeLen:nonceTimeLen+nonceRandLen], randomBytes(nonceRandLen))
	if deviceID != "" {
		b[nonceTimeLen] |= nonceBound
	} else {
		b[nonceTimeLen] &^= nonceBound
	}
	a.nonceMAC(b[:nonceTimeLen+nonceRandLen], b[:nonceTimeLen+nonceRandLen], deviceID)
	return base64.RawURLEncoding.EncodeToString(b[:nonceLen])
}

// checkedNonce is a challenge nonce whose MAC and age were checked: to be
// used up by key (in the used nonces) or, issued to one device, as the
// device's latest.
type checkedNonce struct {
	key     []byte
	expires time.Time
	device  *store.DeviceNonce
}

// checkNonce checks a challenge's MAC and age for an answer from
// deviceID ("" for enrollment, where no device exists yet). It answers
// nonce_invalid for a nonce this authority did not issue, or issued to
// another device, and nonce_expired for one too old.
func (a *Authority) checkNonce(nonce string, now time.Time, deviceID string) (checkedNonce, error) {
	var b [nonceLen + 1]byte
	invalid := errorf(http.StatusBadRequest, "nonce_invalid", "the challenge nonce is unknown or was already used; ask for a new one")
	if base64.RawURLEncoding.DecodedLen(len(nonce)) != nonceLen {
		return checkedNonce{}, invalid
	}
	if n, derr := base64.RawURLEncoding.Decode(b[:], []byte(nonce)); derr != nil || n != nonceLen {
		return checkedNonce{}, invalid
	}
	bound := b[nonceTimeLen]&nonceBound != 0
	macDevice := ""
	if bound {
		if deviceID == "" {
			return checkedNonce{}, invalid
		}
		macDevice = deviceID
	}
	var want [sha256.Size]byte
	if !hmac.Equal(a.nonceMAC(want[:0], b[:nonceTimeLen+nonceRandLen], macDevice), b[nonceTimeLen+nonceRandLen:nonceLen]) {
		return checkedNonce{}, invalid
	}
	issuedMicros := int64(binary.BigEndian.Uint64(b[:nonceTimeLen]))
	issued := time.UnixMicro(issuedMicros)
	expires := issued.Add(a.cfg.NonceLifetime)
	if now.After(expires) {
		return checkedNonce{}, errorf(http.StatusBadRequest, "nonce_expired", "the challenge nonce has expired; ask for a new one")
	}
	if issued.Sub(now) > a.cfg.ClockSkew {
		// Made by a node whose clock is far ahead: not a nonce to trust.
		return checkedNonce{}, invalid
	}
	c := checkedNonce{expires: expires}
	if bound {
		c.device = &store.DeviceNonce{IssuedAt: issuedMicros, Random: append([]byte(nil), b[nonceTimeLen:nonceTimeLen+nonceRandLen]...)}
	} else {
		c.key = append([]byte(nil), b[nonceTimeLen+nonceRandLen:nonceLen]...)
	}
	return c, nil
}

// useNonce checks a challenge and uses it up on its own (enrollment; a
// check-in uses its nonce in its own transaction instead).
func (a *Authority) useNonce(r *http.Request, nonce string) error {
	c, err := a.checkNonce(nonce, a.now(), "")
	if err != nil {
		return err
	}
	return nonceUseError(a.store.UseNonce(r.Context(), c.key, c.expires))
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
