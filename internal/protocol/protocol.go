// Package protocol holds the messages the agent and the health authority
// exchange over HTTP (version 1, under /v1/), and the few rules both
// sides must compute the same way.
package protocol

import (
	"time"

	"github.com/herd-health/herd/health"
)

// Paths of the authority's endpoints.
const (
	PathDiscovery   = "/.well-known/herd-configuration"
	PathJWKS        = "/v1/jwks.json"
	PathChallenge   = "/v1/challenge"
	PathEnroll      = "/v1/enroll"
	PathCheckin     = "/v1/checkin"
	PathHealth      = "/healthz"
	PathCertificate = "/v1/certificate" // on the agent's loopback endpoint
)

// StatementType is the JWS typ of a signed Statement of Health.
const StatementType = "herd-soh+jws"

// ContentTypeJOSE is the media type of a compact JWS body.
const ContentTypeJOSE = "application/jose"

// Discovery is the authority's configuration document.
type Discovery struct {
	Issuer             string `json:"issuer"`
	JWKSURI            string `json:"jwks_uri"`
	EnrollmentEndpoint string `json:"enrollment_endpoint"`
	ChallengeEndpoint  string `json:"challenge_endpoint"`
	CheckinEndpoint    string `json:"checkin_endpoint"`
	StatusListURI      string `json:"status_list_uri,omitempty"`
	IndicatorsURI      string `json:"indicators_uri,omitempty"`
	PolicyID           string `json:"policy_id,omitempty"`
	// CertificateLifetimeSeconds is how long certificates live.
	CertificateLifetimeSeconds int64 `json:"certificate_lifetime_seconds"`
}

// Challenge is a single-use nonce.
type Challenge struct {
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

// EnrollRequest asks to enroll a device key. Signature is the device
// key's Ed25519 signature over EnrollProof(nonce, public_key), proving the
// device holds the key.
type EnrollRequest struct {
	PublicKey string `json:"public_key"` // base64url, 32 bytes
	OS        string `json:"os"`
	Nonce     string `json:"nonce"`
	Signature string `json:"signature"` // base64url
	// Token is an enrollment token, for authorities that require one.
	Token string `json:"token,omitempty"`
}

// EnrollProof is the message a device signs to enroll.
func EnrollProof(nonce, publicKey string) []byte {
	return []byte("herd-enroll-v1\n" + nonce + "\n" + publicKey)
}

// EnrollResponse names the enrolled device.
type EnrollResponse struct {
	DeviceID string `json:"device_id"`
}

// Certificate is one health certificate for one audience.
type Certificate struct {
	Audience  string    `json:"aud"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CheckinResponse is the authority's answer to a Statement of Health.
type CheckinResponse struct {
	CheckinID    int64            `json:"checkin_id"`
	Verdict      health.Tier      `json:"verdict"`
	PolicyID     string           `json:"policy_id"`
	Findings     []health.Finding `json:"findings"`
	Required     []health.CheckID `json:"required"`
	Certificates []Certificate    `json:"certificates"`
	// NextCheckinSeconds is when the authority would like to hear again.
	NextCheckinSeconds int64 `json:"next_checkin_seconds"`
	// Indicators offers the authority's indicator bundle.
	Indicators *IndicatorsOffer `json:"indicators,omitempty"`
	// Questions ask about outside sightings of the device's address.
	Questions []SightingQuestion `json:"questions,omitempty"`
	// Notice is a NoticeType JWS for the user, when there is one.
	Notice string `json:"notice,omitempty"`
}

// Error is every error body the authority sends.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}
