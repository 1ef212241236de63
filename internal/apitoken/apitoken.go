// Package apitoken makes the bearer tokens operators and managed fleets
// present: 32 random bytes with a readable prefix, kept only as their
// SHA-256. A plain hash is enough because the tokens carry 256 bits of
// entropy: no dictionary can reverse it, so a slow password hash would
// only cost time on every request.
package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// Prefixes say what a token is when one turns up in a log or a paste.
const (
	AdminPrefix      = "herd_admin_"
	EnrollmentPrefix = "herd_enroll_"
)

// New returns a new token with the given prefix and its hash.
func New(prefix string) (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, Hash(token)
}

// Hash is the stored form of a token.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
