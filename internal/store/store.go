// Package store declares what the health authority keeps and the small
// interfaces it keeps it through. Implementations live in the sqlite and
// postgres packages below this one; storetest is the conformance suite
// both must pass.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/herd-health/herd/health"
)

// Errors every implementation returns, for errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("already exists")
	ErrNonceUnknown = errors.New("nonce unknown or already used")
	ErrNonceExpired = errors.New("nonce expired")
)

// Device is one enrolled device.
type Device struct {
	ID         string
	PublicKey  []byte // Ed25519, 32 bytes
	OS         string
	EnrolledAt time.Time
	// Latest state, updated by RecordCheckin.
	LastSeen    time.Time
	LastVerdict health.Tier
	LastPolicy  string
}

// Checkin is one accepted Statement of Health and its appraisal.
type Checkin struct {
	ID         int64
	DeviceID   string
	ReceivedAt time.Time
	Verdict    health.Tier
	PolicyID   string // policy-id@version
	Findings   []health.Finding
	OS         string
	OSVersion  string
	Agent      string
	// Statement is the signed statement exactly as received.
	Statement []byte
	// SourceIP is the address the check-in came from; kept only as long
	// as retention allows.
	SourceIP string
	// Country is the ISO 3166-1 code the operator's GeoIP database gives
	// for SourceIP ("" without one); only the population aggregates keep it.
	Country string
	// Family is the malware family the malware check's evidence names
	// ("" when none); it labels a new infection in the aggregates.
	Family string
	// Events are webhook events queued in the check-in's own transaction:
	// they are in the outbox if and only if the check-in is committed.
	// Stores without an outbox (store.Operations) ignore them.
	Events []OutboxEvent
	// EventsOnChange queues Events only when the device's verdict before
	// this check-in differs from Verdict: a repeated verdict is no news.
	EventsOnChange bool
	// NonceKey, when not empty, is the key of the challenge nonce the
	// check-in answers: it is recorded as used (until NonceExpires) in the
	// check-in's own transaction, and RecordCheckin fails with
	// ErrNonceUnknown, recording nothing, when it was used before.
	NonceKey     []byte
	NonceExpires time.Time
	// DeviceNonce, when set, is a challenge nonce issued to this device
	// alone (DeviceNonce says how it orders); it is used up in the
	// check-in's own transaction by becoming the device's latest, and
	// RecordCheckin fails with ErrNonceUnknown, recording nothing, unless
	// it is later than the device's latest. A check-in gives NonceKey or
	// DeviceNonce, not both.
	DeviceNonce *DeviceNonce
	// Certificates are the certificates issued for the check-in, recorded
	// (as StatusLists.RecordCertificates does) in its transaction.
	Certificates []IssuedCertificate
}

// SigningKey is one of the authority's certificate signing keys.
type SigningKey struct {
	KID       string
	Alg       string // EdDSA, ES256
	Private   []byte // PKCS #8 DER, possibly encrypted by the caller
	Public    []byte // PKIX DER
	CreatedAt time.Time
	// RetiredAt is when the key stopped signing; zero while it signs.
	RetiredAt time.Time
}

// Stats are population counts.
type Stats struct {
	Devices   int64
	Checkins  int64
	ByVerdict map[health.Tier]int64 // devices by their latest verdict
}

// Nonces keeps single-use challenge values.
type Nonces interface {
	CreateNonce(ctx context.Context, value string, expires time.Time) error
	// ConsumeNonce uses a nonce up: it succeeds once per nonce. A nonce
	// past its expiry gives ErrNonceExpired (and is used up too); one never
	// issued or already used gives ErrNonceUnknown.
	ConsumeNonce(ctx context.Context, value string, now time.Time) error
}

// Devices keeps enrolled devices.
type Devices interface {
	// CreateDevice adds a device; ErrConflict when the id exists.
	CreateDevice(ctx context.Context, d Device) error
	// Device returns one device; ErrNotFound when absent.
	Device(ctx context.Context, id string) (Device, error)
}

// Checkins keeps check-in history.
type Checkins interface {
	// RecordCheckin appends c to the history and updates the device's
	// latest state and the population aggregates in one transaction.
	// When it returns nil the check-in is durable.
	RecordCheckin(ctx context.Context, c Checkin) (int64, error)
	// Checkins returns a device's history, newest first, at most limit.
	Checkins(ctx context.Context, deviceID string, limit int) ([]Checkin, error)
}

// Keys keeps the authority's signing keys.
type Keys interface {
	AddSigningKey(ctx context.Context, k SigningKey) error
	// SigningKeys lists every key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
}

// Secrets keeps named secrets the authority makes once (e.g. the key
// behind pairwise subject ids).
type Secrets interface {
	// Secret returns the named secret, storing make() first if there is
	// none; concurrent callers all get the same value.
	Secret(ctx context.Context, name string, make func() []byte) ([]byte, error)
}

// Store is everything the authority needs.
type Store interface {
	Nonces
	UsedNonces
	Devices
	Checkins
	Keys
	Secrets
	Stats(ctx context.Context) (Stats, error)
	Close() error
}

// DayCount is the number of check-ins received on one day (UTC) with one
// verdict from one operating system.
type DayCount struct {
	Day     time.Time // midnight UTC
	Verdict health.Tier
	OS      string
	Count   int64
}

// Population reads the aggregates RecordCheckin keeps up to date, so the
// population console never scans devices or history per request.
type Population interface {
	// DailyCheckins returns the counts for the days from from's day to
	// to's day (UTC, both inclusive), ordered by day, verdict, OS.
	DailyCheckins(ctx context.Context, from, to time.Time) ([]DayCount, error)
}
