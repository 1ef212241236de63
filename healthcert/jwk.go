package healthcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// JWK is one public key in JSON Web Key form (RFC 7517), for Ed25519
// (kty OKP, RFC 8037) or P-256 (kty EC).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWK describes pub as a JWK with its RFC 7638 thumbprint as kid when
// kid is empty.
func NewJWK(pub crypto.PublicKey, kid string) (JWK, error) {
	alg, err := AlgFor(pub)
	if err != nil {
		return JWK{}, err
	}
	var k JWK
	switch p := pub.(type) {
	case ed25519.PublicKey:
		k = JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(p)}
	case *ecdsa.PublicKey:
		ecdh, err := p.ECDH()
		if err != nil {
			return JWK{}, err
		}
		raw := ecdh.Bytes() // 0x04 || X || Y
		k = JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:65])}
	}
	k.Alg, k.Use = alg, "sig"
	if kid == "" {
		kid = k.Thumbprint()
	}
	k.Kid = kid
	return k, nil
}

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url.
func (k JWK) Thumbprint() string {
	var members string
	switch k.Kty {
	case "OKP":
		members = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, k.Crv, k.X)
	default:
		members = fmt.Sprintf(`{"crv":%q,"kty":%q,"x":%q,"y":%q}`, k.Crv, k.Kty, k.X, k.Y)
	}
	sum := sha256.Sum256([]byte(members))
	return b64.EncodeToString(sum[:])
}

// PublicKey returns the key the JWK describes. It accepts only the two key
// types herd uses, and checks that alg, when present, fits the key.
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	switch {
	case k.Kty == "OKP" && k.Crv == "Ed25519":
		if k.Alg != "" && k.Alg != EdDSA {
			return nil, fmt.Errorf("%w: alg %q on an Ed25519 key", ErrAlgorithm, k.Alg)
		}
		x, err := b64.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: bad Ed25519 x", ErrUnsupportedK)
		}
		return ed25519.PublicKey(x), nil
	case k.Kty == "EC" && k.Crv == "P-256":
		if k.Alg != "" && k.Alg != ES256 {
			return nil, fmt.Errorf("%w: alg %q on a P-256 key", ErrAlgorithm, k.Alg)
		}
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("%w: bad P-256 coordinates", ErrUnsupportedK)
		}
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("%w: P-256 point: %v", ErrUnsupportedK, err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%w: kty %q crv %q", ErrUnsupportedK, k.Kty, k.Crv)
}

// KeySet maps key ids to public keys.
type KeySet map[string]crypto.PublicKey

// KeySet turns a JWKS into a KeySet. Keys it does not understand are
// skipped; an empty result is an error.
func (s JWKS) KeySet() (KeySet, error) {
	ks := make(KeySet, len(s.Keys))
	for _, k := range s.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			continue
		}
		ks[k.Kid] = pub
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("%w: the key set has no usable signing key", ErrUnknownKey)
	}
	return ks, nil
}

// ParseJWKS reads a JWKS document.
func ParseJWKS(b []byte) (JWKS, error) {
	var s JWKS
	if err := json.Unmarshal(b, &s); err != nil {
		return JWKS{}, fmt.Errorf("not a JWKS document: %w", err)
	}
	return s, nil
}
