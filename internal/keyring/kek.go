package keyring

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/herd-health/herd/internal/store"
)

// KEKEnv is the environment variable that holds the key-encryption key,
// base64 of 32 bytes.
const KEKEnv = "HERD_KEK"

// sealedPrefix starts a private key sealed with a key-encryption key; a
// PKCS #8 key in clear starts with an ASN.1 SEQUENCE byte (0x30) instead.
var sealedPrefix = []byte("herd-kek1:")

// Errors opening keys, for errors.Is.
var (
	// ErrKEKRequired: the store holds encrypted signing keys and no
	// key-encryption key was given.
	ErrKEKRequired = errors.New("the signing keys are encrypted: give the key-encryption key (HERD_KEK or --kek-file)")
	// ErrWrongKEK: the key-encryption key given is not the one the keys
	// were encrypted with.
	ErrWrongKEK = errors.New("the key-encryption key does not decrypt the signing keys: it is not the one they were encrypted with")
)

// SignerSource turns a stored signing key into a crypto.Signer. The
// default keeps keys in the store, encrypted with a key-encryption key;
// a source backed by an HSM or a cloud KMS would keep only a reference
// to the key in SigningKey.Private.
type SignerSource interface {
	Signer(ctx context.Context, k store.SigningKey) (crypto.Signer, error)
}

// LocalKeys is the SignerSource for keys kept in the store as PKCS #8,
// sealed with AES-256-GCM under KEK (the key id is the associated data,
// so a sealed key cannot be passed off under another id). A nil KEK
// reads keys stored in clear and refuses sealed ones.
type LocalKeys struct{ KEK []byte }

// Signer opens k.
func (l LocalKeys) Signer(_ context.Context, k store.SigningKey) (crypto.Signer, error) {
	der := k.Private
	if bytes.HasPrefix(der, sealedPrefix) {
		if l.KEK == nil {
			return nil, fmt.Errorf("key %s: %w", k.KID, ErrKEKRequired)
		}
		var err error
		if der, err = open(l.KEK, k.KID, der[len(sealedPrefix):]); err != nil {
			return nil, fmt.Errorf("key %s: %w", k.KID, err)
		}
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.KID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %s is not a signing key", k.KID)
	}
	return signer, nil
}

// seal encrypts a PKCS #8 key for storage; without a KEK it is stored in
// clear.
func (l LocalKeys) seal(kid string, der []byte) ([]byte, error) {
	if l.KEK == nil {
		return der, nil
	}
	aead, err := newAEAD(l.KEK)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(append([]byte{}, sealedPrefix...), nonce...)
	return aead.Seal(out, nonce, der, []byte(kid)), nil
}

func open(kek []byte, kid string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed key is truncated")
	}
	der, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(kid))
	if err != nil {
		return nil, ErrWrongKEK
	}
	return der, nil
}

func newAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != 32 {
		return nil, fmt.Errorf("the key-encryption key must be 32 bytes, not %d", len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ParseKEK reads a key-encryption key: base64 (standard or URL
// alphabet, padded or not) of 32 bytes.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("the key-encryption key is %d bytes; it must be 32 (base64 of 32 random bytes)", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("the key-encryption key is not base64 of 32 bytes")
}

// LoadKEK finds the key-encryption key: HERD_KEK when set, otherwise the
// file at path. When neither exists and create is true, it writes a new
// random key to path (mode 0600) and reports created. A missing file
// without create gives a nil key and no error.
func LoadKEK(path string, create bool) (kek []byte, created bool, err error) {
	if v := os.Getenv(KEKEnv); v != "" {
		kek, err := ParseKEK(v)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", KEKEnv, err)
		}
		return kek, false, nil
	}
	if path == "" {
		return nil, false, nil
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		kek, err := ParseKEK(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return kek, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, false, fmt.Errorf("key-encryption key: %w", err)
	case !create:
		return nil, false, nil
	}
	kek = make([]byte, 32)
	if _, err := rand.Read(kek); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKEK(path, false) // made meanwhile by another process
	}
	if err != nil {
		return nil, false, fmt.Errorf("key-encryption key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(kek) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("key-encryption key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("key-encryption key: %w", err)
	}
	return kek, true, nil
}

// HasSealedKeys reports whether ks holds any signing key sealed with a
// key-encryption key: such a store must never be given a new KEK.
func HasSealedKeys(ctx context.Context, ks store.Keys) (bool, error) {
	list, err := ks.SigningKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("keyring: %w", err)
	}
	for _, k := range list {
		if bytes.HasPrefix(k.Private, sealedPrefix) {
			return true, nil
		}
	}
	return false, nil
}
