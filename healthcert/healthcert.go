// Package healthcert is herd's health certificate: a short-lived JWT,
// signed by a health authority, that tells one relying party how a device
// was appraised, in the shape of an EAR (Entity Attestation Result).
//
// Claim names live here and only here. Signing goes through a
// crypto.Signer so a key can sit in an HSM or a cloud KMS; parsing accepts
// only EdDSA and ES256 and checks the key type against the algorithm.
package healthcert

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herd-health/herd/health"
)

// Claim names. EAR claims follow draft-ietf-rats-ear; "herd.findings" is
// herd's own, inside the device submodule.
const (
	ClaimIssuer     = "iss"
	ClaimAudience   = "aud"
	ClaimSubject    = "sub"
	ClaimIssuedAt   = "iat"
	ClaimExpiry     = "exp"
	ClaimID         = "jti"
	ClaimProfile    = "eat_profile"
	ClaimVerifierID = "ear.verifier-id"
	ClaimSubmods    = "submods"
	ClaimEARStatus  = "ear.status"
	ClaimPolicyID   = "ear.appraisal-policy-id"
	ClaimFindings   = "herd.findings"
	ClaimStatus     = "status"

	// SubmodDevice is the submodule holding the device's appraisal.
	SubmodDevice = "device"
)

// Profile is herd's EAR profile URI (the eat_profile claim).
const Profile = "tag:github.com/herd-health/herd,2026:health-certificate/v1"

// TokenType is the JWS typ header of a health certificate.
const TokenType = "JWT"

// HTTPHeader is the HTTP request header a health certificate travels in.
const HTTPHeader = "Device-Health"

// VerifierID names the software that made the appraisal.
type VerifierID struct {
	Build     string `json:"build"`
	Developer string `json:"developer"`
}

// Appraisal is one submodule's attestation result.
type Appraisal struct {
	Status   health.Tier      `json:"ear.status"`
	PolicyID string           `json:"ear.appraisal-policy-id,omitempty"`
	Findings []health.Finding `json:"herd.findings,omitempty"`
}

// StatusRef points at the certificate's entry in a status list (IETF
// OAuth Token Status List).
type StatusRef struct {
	StatusList StatusListRef `json:"status_list"`
}

// StatusListRef is an index into the status list at URI.
type StatusListRef struct {
	Index int    `json:"idx"`
	URI   string `json:"uri"`
}

// Audience is the aud claim: one relying party. It reads the string form
// and a one-element array.
type Audience string

// UnmarshalJSON accepts "aud" and ["aud"].
func (a *Audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Audience(s)
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("aud must be a string")
	}
	if len(l) != 1 {
		return fmt.Errorf("aud names %d audiences; a health certificate has exactly one", len(l))
	}
	*a = Audience(l[0])
	return nil
}

// Claims is the content of a health certificate.
type Claims struct {
	Issuer     string               `json:"iss"`
	Audience   Audience             `json:"aud"`
	Subject    string               `json:"sub"`
	IssuedAt   int64                `json:"iat"`
	Expiry     int64                `json:"exp"`
	ID         string               `json:"jti"`
	Profile    string               `json:"eat_profile"`
	VerifierID VerifierID           `json:"ear.verifier-id"`
	Submods    map[string]Appraisal `json:"submods"`
	Status     *StatusRef           `json:"status,omitempty"`
}

// Device returns the device submodule's appraisal.
func (c *Claims) Device() Appraisal { return c.Submods[SubmodDevice] }

// Tier is the device's verdict.
func (c *Claims) Tier() health.Tier { return c.Device().Status }

// ExpiresAt and IssuedAtTime are the times as time.Time.
func (c *Claims) ExpiresAt() time.Time    { return time.Unix(c.Expiry, 0) }
func (c *Claims) IssuedAtTime() time.Time { return time.Unix(c.IssuedAt, 0) }

// Validate checks that every required claim is present and sane.
func (c *Claims) Validate() error {
	switch {
	case c.Issuer == "":
		return errors.New("iss is missing")
	case c.Audience == "":
		return errors.New("aud is missing")
	case c.Subject == "":
		return errors.New("sub is missing")
	case c.IssuedAt <= 0 || c.Expiry <= 0:
		return errors.New("iat and exp are required")
	case c.Expiry <= c.IssuedAt:
		return errors.New("exp is not after iat")
	case c.ID == "":
		return errors.New("jti is missing")
	case c.Profile != Profile:
		return fmt.Errorf("eat_profile %q is not herd's", c.Profile)
	}
	d, ok := c.Submods[SubmodDevice]
	if !ok {
		return errors.New("submods.device is missing")
	}
	if !d.Status.Valid() {
		return fmt.Errorf("submods.device ear.status %q is not a tier", d.Status)
	}
	return nil
}

// Sign makes a signed health certificate.
func Sign(signer crypto.Signer, kid string, c *Claims) (string, error) {
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("health certificate: %w", err)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return SignCompact(signer, kid, TokenType, payload)
}

// Parse verifies a certificate's signature with the key its kid names in
// keys, and decodes its claims. It does not check time, audience or
// issuer: package verify does, with the relying party's options.
func Parse(token string, keys KeySet) (*Claims, error) {
	c, err := ParseCompact(token)
	if err != nil {
		return nil, err
	}
	pub, ok := keys[c.Header.Kid]
	if !ok {
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, c.Header.Kid)
	}
	if err := c.Verify(pub); err != nil {
		return nil, err
	}
	var claims Claims
	if err := DecodeClaims(c.Payload, &claims); err != nil {
		return nil, err
	}
	return &claims, nil
}

// ParseWith is Parse with the key found by key, which is given the
// token's kid once its form and algorithm have been checked; its error is
// returned as is. It spares the allocations Parse's separate steps make,
// for verifiers that see many certificates.
func ParseWith(token string, key func(kid string) (crypto.PublicKey, error)) (*Claims, error) {
	var c Compact
	if err := parseCompact(token, &c); err != nil {
		return nil, err
	}
	pub, err := key(c.Header.Kid)
	if err != nil {
		return nil, err
	}
	if err := c.Verify(pub); err != nil {
		return nil, err
	}
	claims := new(Claims)
	if err := DecodeClaims(c.Payload, claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// DecodeClaims decodes a certificate's payload into c and validates it.
// Errors wrap ErrMalformed.
func DecodeClaims(payload []byte, c *Claims) error {
	if !fastClaims(payload, c) {
		*c = Claims{}
		if err := json.Unmarshal(payload, c); err != nil {
			return fmt.Errorf("%w: claims: %v", ErrMalformed, err)
		}
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
