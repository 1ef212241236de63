package healthcert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Algorithms herd signs and accepts. Nothing else is ever accepted, in
// particular not "none" and not HMAC algorithms.
const (
	EdDSA = "EdDSA"
	ES256 = "ES256"
)

// Errors from parsing and verifying a JWS, for errors.Is.
var (
	ErrMalformed    = errors.New("malformed token")
	ErrAlgorithm    = errors.New("algorithm not allowed")
	ErrUnknownKey   = errors.New("unknown signing key")
	ErrSignature    = errors.New("signature does not verify")
	ErrUnsupportedK = errors.New("unsupported key type")
)

var b64 = base64.RawURLEncoding.Strict()

// Header is the protected header of a compact JWS.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
	// Crit lists extensions a verifier must understand; herd understands
	// none, so a token naming any is rejected.
	Crit []string `json:"crit,omitempty"`
}

// AlgFor returns the algorithm herd uses with a public key.
func AlgFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return EdDSA, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
	}
	return "", fmt.Errorf("%w: %T", ErrUnsupportedK, pub)
}

// SignCompact signs payload as a compact JWS with signer, which must hold
// an Ed25519 or P-256 key. typ may be empty.
func SignCompact(signer crypto.Signer, kid, typ string, payload []byte) (string, error) {
	alg, err := AlgFor(signer.Public())
	if err != nil {
		return "", err
	}
	hdr, err := json.Marshal(Header{Alg: alg, Kid: kid, Typ: typ})
	if err != nil {
		return "", err
	}
	n := b64.EncodedLen(len(hdr)) + 1 + b64.EncodedLen(len(payload))
	buf := make([]byte, n, n+1+b64.EncodedLen(64))
	b64.Encode(buf, hdr)
	buf[b64.EncodedLen(len(hdr))] = '.'
	b64.Encode(buf[b64.EncodedLen(len(hdr))+1:], payload)
	sig, err := signBytes(signer, alg, buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}

func signBytes(signer crypto.Signer, alg string, input []byte) ([]byte, error) {
	switch alg {
	case EdDSA:
		return signer.Sign(rand.Reader, input, crypto.Hash(0))
	case ES256:
		h := sha256.Sum256(input)
		der, err := signer.Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		var sig struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &sig); err != nil {
			return nil, fmt.Errorf("ES256 signer returned a bad signature: %w", err)
		}
		out := make([]byte, 64)
		sig.R.FillBytes(out[:32])
		sig.S.FillBytes(out[32:])
		return out, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
}

// Compact is a compact JWS split into its parts, signature not yet checked.
type Compact struct {
	Header       Header
	Payload      []byte
	signingInput string
	signature    []byte
	sigBuf       [64]byte // holds signature when it fits, saving an allocation
}

// MaxTokenSize bounds what ParseCompact accepts.
const MaxTokenSize = 16 << 10

// ParseCompact splits and decodes a compact JWS. It checks the form and
// that alg is one herd allows; it does not verify the signature.
func ParseCompact(token string) (*Compact, error) {
	c := new(Compact)
	if err := parseCompact(token, c); err != nil {
		return nil, err
	}
	return c, nil
}

// parseCompact is ParseCompact into c, which callers may keep on the stack.
func parseCompact(token string, c *Compact) error {
	if len(token) > MaxTokenSize {
		return fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenSize)
	}
	// The header is read first, so a token naming a forbidden algorithm
	// ("none", HS256, …) is reported as such whatever follows it.
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	var hbuf [256]byte
	hb := hbuf[:0]
	if b64.DecodedLen(len(h)) > len(hbuf) {
		hb = make([]byte, 0, b64.DecodedLen(len(h)))
	}
	hb, err := b64.AppendDecode(hb, []byte(h))
	if err != nil {
		return fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	if !fastHeader(hb, &c.Header) {
		c.Header = Header{}
		if err := strictUnmarshal(hb, &c.Header); err != nil {
			return fmt.Errorf("%w: header: %v", ErrMalformed, err)
		}
	}
	if c.Header.Alg != EdDSA && c.Header.Alg != ES256 {
		return fmt.Errorf("%w: %q", ErrAlgorithm, c.Header.Alg)
	}
	if len(c.Header.Crit) > 0 {
		return fmt.Errorf("%w: critical header extensions %q are not understood", ErrMalformed, c.Header.Crit)
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s, ".") {
		return fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	if c.Payload, err = b64.DecodeString(p); err != nil {
		return fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	if b64.DecodedLen(len(s)) <= len(c.sigBuf) {
		n, err := b64.Decode(c.sigBuf[:], []byte(s))
		if err != nil {
			return fmt.Errorf("%w: signature is not base64url", ErrMalformed)
		}
		c.signature = c.sigBuf[:n]
	} else if c.signature, err = b64.DecodeString(s); err != nil {
		return fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	c.signingInput = token[:len(h)+1+len(p)]
	return nil
}

// strictUnmarshal decodes JSON and rejects duplicate-free but trailing data.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// VerifyDetached checks a detached JWS (RFC 7515 appendix F: parsed from
// "header..signature", the payload part left empty) over payload with
// pub, with the same algorithm pinning as Verify. The payload may be
// far larger than MaxTokenSize.
func (c *Compact) VerifyDetached(payload []byte, pub crypto.PublicKey) error {
	if len(c.Payload) != 0 {
		return fmt.Errorf("%w: not a detached JWS", ErrMalformed)
	}
	d := *c
	d.signingInput = c.signingInput + b64.EncodeToString(payload)
	return d.Verify(pub)
}

// Verify checks the signature with pub. The key's type must match the
// header's algorithm, so an EdDSA token never verifies with a P-256 key.
func (c *Compact) Verify(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if c.Header.Alg != EdDSA {
			return fmt.Errorf("%w: %s token for an Ed25519 key", ErrAlgorithm, c.Header.Alg)
		}
		if len(k) != ed25519.PublicKeySize || !ed25519.Verify(k, []byte(c.signingInput), c.signature) {
			return ErrSignature
		}
		return nil
	case *ecdsa.PublicKey:
		if c.Header.Alg != ES256 || k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: %s token for a P-256 key", ErrAlgorithm, c.Header.Alg)
		}
		if len(c.signature) != 64 {
			return ErrSignature
		}
		h := sha256.Sum256([]byte(c.signingInput))
		r := new(big.Int).SetBytes(c.signature[:32])
		s := new(big.Int).SetBytes(c.signature[32:])
		if !ecdsa.Verify(k, h[:], r, s) {
			return ErrSignature
		}
		return nil
	}
	return fmt.Errorf("%w: %T", ErrUnsupportedK, pub)
}
