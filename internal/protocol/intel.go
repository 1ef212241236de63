package protocol

import "time"

// PathIndicators serves the signed indicator bundle to enrolled devices.
const PathIndicators = "/v1/indicators"

// JWS types of what the authority signs for devices besides certificates.
const (
	// IndicatorsType is the typ of the detached JWS over an indicator
	// bundle or delta.
	IndicatorsType = "herd-indicators+jws"
	// NoticeType is the typ of a signed message for the device's user.
	NoticeType = "herd-notice+jws"
)

// HeaderSignature carries the detached JWS (RFC 7515 appendix F: the
// payload part left empty) over the body of a PathIndicators answer.
const HeaderSignature = "Herd-Signature"

// IndicatorsOffer tells a device, in the check-in answer, which bundle
// version the authority holds and how to download it: GET URI?since=N
// with "Authorization: Bearer Token" until ExpiresAt.
type IndicatorsOffer struct {
	Version   int64     `json:"version"`
	URI       string    `json:"uri"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SightingQuestion asks a device whether it talked to C2 ("ip" or
// "ip:port") within Window of Around; with C2 empty (a report that names
// only the botnet), whether it talked to any server its bundle lists for
// Family. It answers with a health.SightingAnswer in its next statement,
// and confirms only from an endpoint its signed indicator bundle lists:
// a question about any other address is answered "not seen".
type SightingQuestion struct {
	ID            int64     `json:"id"`
	C2            string    `json:"c2"`
	Family        string    `json:"family,omitempty"`
	Around        time.Time `json:"around"`
	WindowSeconds int64     `json:"window_seconds"`
}

// Localized is a text in each language the agent shows.
type Localized struct {
	EN string `json:"en"`
	ZH string `json:"zh-CN"`
}

// Notice is the payload of a NoticeType JWS: a message the authority
// wants the device's user to see, with the steps to act on it.
type Notice struct {
	Issuer   string      `json:"iss"`
	DeviceID string      `json:"sub"`
	IssuedAt int64       `json:"iat"`
	Expiry   int64       `json:"exp"`
	Verdict  string      `json:"verdict"`
	Title    Localized   `json:"title"`
	Message  Localized   `json:"message"`
	Steps    []Localized `json:"steps"`
	// Sighting is set when the verdict rests on an outside sighting the
	// device's own connection history confirmed.
	Sighting *NoticeSighting `json:"sighting,omitempty"`
}

// NoticeSighting says what an outside report and the device's own
// history confirmed, and when the hold on the device ends by itself.
type NoticeSighting struct {
	// Endpoint is the botnet control server the device's history shows.
	Endpoint string `json:"endpoint"`
	Family   string `json:"family,omitempty"`
	// SeenAt is when the device's history last saw the endpoint.
	SeenAt time.Time `json:"seen_at"`
	// ConfirmedAt is when the device's answer reached the authority.
	ConfirmedAt time.Time `json:"confirmed_at"`
	// Until is when the hold ends unless an operator clears it sooner.
	Until time.Time `json:"until"`
}
