package healthcert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// detach signs payload and drops the payload part of the compact JWS.
func detach(t *testing.T, signer crypto.Signer, payload []byte) string {
	t.Helper()
	jws, err := SignCompact(signer, "k1", "test+jws", payload)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jws, ".")
	return parts[0] + ".." + parts[2]
}

func TestVerifyDetached(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	// Larger than a compact token may be.
	payload := bytes.Repeat([]byte("indicator bundle "), MaxTokenSize)
	for _, tc := range []struct {
		name   string
		signer crypto.Signer
		other  crypto.PublicKey
	}{
		{"EdDSA", ed, &ec.PublicKey},
		{"ES256", ec, ed.Public()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCompact(detach(t, tc.signer, payload))
			if err != nil {
				t.Fatal(err)
			}
			if c.Header.Alg != tc.name {
				t.Fatalf("alg %s", c.Header.Alg)
			}
			if err := c.VerifyDetached(payload, tc.signer.Public()); err != nil {
				t.Errorf("genuine: %v", err)
			}
			tampered := bytes.Clone(payload)
			tampered[len(tampered)-1] ^= 1
			if err := c.VerifyDetached(tampered, tc.signer.Public()); !errors.Is(err, ErrSignature) {
				t.Errorf("tampered payload: %v, want ErrSignature", err)
			}
			if err := c.VerifyDetached(payload, tc.other); !errors.Is(err, ErrAlgorithm) {
				t.Errorf("key of the other algorithm: %v, want ErrAlgorithm", err)
			}
		})
	}
	// A JWS that carries its payload is not detached.
	jws, _ := SignCompact(ed, "k1", "test+jws", []byte("x"))
	c, err := ParseCompact(jws)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyDetached([]byte("x"), ed.Public()); !errors.Is(err, ErrMalformed) {
		t.Errorf("attached payload: %v, want ErrMalformed", err)
	}
}
