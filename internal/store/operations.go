package store

import (
	"context"
	"time"

	"github.com/herd-health/herd/health"
)

// AdminToken is an operator's API token. Only the SHA-256 of the token is
// kept: tokens are random and long, so a plain hash cannot be reversed.
type AdminToken struct {
	Name      string
	Hash      []byte // SHA-256 of the token
	CreatedAt time.Time
	// RevokedAt is when the token stopped working; zero while it works.
	RevokedAt time.Time
}

// AdminTokens keeps operators' API tokens.
type AdminTokens interface {
	// CreateAdminToken adds t; ErrConflict when a working token has its
	// name (a revoked token's name can be given again; the revoked record
	// stays).
	CreateAdminToken(ctx context.Context, t AdminToken) error
	// AdminTokenByHash returns the token with this hash, revoked or not;
	// ErrNotFound when there is none.
	AdminTokenByHash(ctx context.Context, hash []byte) (AdminToken, error)
	// AdminTokens lists every token, revoked ones too, by name and age.
	AdminTokens(ctx context.Context) ([]AdminToken, error)
	// RevokeAdminToken revokes the named token; ErrNotFound when there is
	// no such working token.
	RevokeAdminToken(ctx context.Context, name string, at time.Time) error
}

// AuditEntry is one operator action.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string // the admin token's name, or "cli"
	Action   string // e.g. "device.delete"
	Target   string // what it acted on, or ""
	SourceIP string
	// Outcome is what became of it: AuditPending while it runs, then an
	// HTTP status ("200", "404") for the admin API or "ok" or "error" for
	// the command line; "" for records older than outcomes.
	Outcome string
}

// Audit is the append-only log of operator actions.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	// AuditLog returns entries newest first, at most limit.
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
}

// DeviceFilter selects devices for ListDevices. Zero fields select all.
type DeviceFilter struct {
	IDPrefix string
	Verdict  health.Tier // latest verdict
	After    string      // return ids after this one (the page cursor)
	Limit    int         // default 1000; at most 1001 (a page of 1000 and one more, to tell whether a next page exists)
}

// DeviceAdmin is what operators do with devices.
type DeviceAdmin interface {
	// ListDevices returns devices ordered by id.
	ListDevices(ctx context.Context, f DeviceFilter) ([]Device, error)
	// DeleteDevice unenrolls a device and deletes its data: the device,
	// its history and every row that refers to it. Population aggregates
	// (per-day counts) stay; the cohort counts (FailMasks), which count
	// enrolled devices by their latest failing set, lose it. The device's certificates are revoked first,
	// in the same transaction: their bits are set in the status lists,
	// which outlive the certificate rows, so a deleted device's
	// certificates never pass a status check. ErrNotFound when there is
	// no such device.
	DeleteDevice(ctx context.Context, id string) error
}

// Retention deletes what is kept no longer than the operator allows.
type Retention interface {
	// ClearSourceIPs blanks the source addresses of check-ins received
	// before before.
	ClearSourceIPs(ctx context.Context, before time.Time) (int64, error)
	// DeleteCheckinsBefore deletes history received before before.
	DeleteCheckinsBefore(ctx context.Context, before time.Time) (int64, error)
	// DeleteExpiredNonces deletes nonces that expired before now unused.
	DeleteExpiredNonces(ctx context.Context, now time.Time) (int64, error)
}

// RelyingParty is a registered relying party: an audience and where its
// webhook events go.
type RelyingParty struct {
	Audience   string
	WebhookURL string
	// Secret is the HMAC key webhook events are signed with.
	Secret    []byte
	CreatedAt time.Time
}

// RelyingParties keeps registered relying parties and which devices
// each has seen.
type RelyingParties interface {
	// AddRelyingParty registers rp; ErrConflict when its audience exists.
	AddRelyingParty(ctx context.Context, rp RelyingParty) error
	// RelyingParties lists them by audience.
	RelyingParties(ctx context.Context) ([]RelyingParty, error)
	// RemoveRelyingParty; ErrNotFound when there is none.
	RemoveRelyingParty(ctx context.Context, audience string) error
	// RecordAudiences notes that the device asked for certificates for
	// these audiences (idempotent).
	RecordAudiences(ctx context.Context, deviceID string, audiences []string, at time.Time) error
	// RelyingPartiesOf returns the registered relying parties that have
	// seen the device, by audience.
	RelyingPartiesOf(ctx context.Context, deviceID string) ([]RelyingParty, error)
}

// OutboxEvent is one webhook event waiting to be delivered.
type OutboxEvent struct {
	ID       int64
	EventID  string
	Audience string
	Body     []byte
	// CreatedAt is when it was queued; NextAttempt when it is due (while a
	// dispatcher holds it, the end of its lease).
	CreatedAt   time.Time
	NextAttempt time.Time
	Attempts    int
	LastError   string
	// DeadAt is when delivery was given up; zero while it is pending.
	DeadAt time.Time
}

// Outbox is the durable queue of webhook events: delivered at least once,
// surviving restarts.
type Outbox interface {
	// EnqueueEvents adds events, due at once.
	EnqueueEvents(ctx context.Context, evs []OutboxEvent) error
	// ClaimEvents takes up to limit pending events due at now and leases
	// them until now+lease, so no other dispatcher takes them meanwhile;
	// an event whose dispatcher dies is due again when its lease ends.
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxEvent, error)
	// EventDelivered removes a delivered event.
	EventDelivered(ctx context.Context, id int64) error
	// EventFailed records a failed attempt: the event is due again at next,
	// or, when dead is true, given up (kept for operators to see).
	EventFailed(ctx context.Context, id int64, attempts int, next time.Time, lastErr string, dead bool, now time.Time) error
	// DeadEvents lists given-up events, newest first, at most limit.
	DeadEvents(ctx context.Context, limit int) ([]OutboxEvent, error)
}

// EnrollmentToken lets managed devices enroll. Only its SHA-256 is kept.
type EnrollmentToken struct {
	Name      string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	SingleUse bool
	Uses      int64
	RevokedAt time.Time // zero while it works
}

// EnrollmentTokens keeps enrollment tokens.
type EnrollmentTokens interface {
	// CreateEnrollmentToken adds t; ErrConflict when its name exists.
	CreateEnrollmentToken(ctx context.Context, t EnrollmentToken) error
	EnrollmentTokens(ctx context.Context) ([]EnrollmentToken, error)
	// RevokeEnrollmentToken; ErrNotFound when there is no such working token.
	RevokeEnrollmentToken(ctx context.Context, name string, at time.Time) error
	// UseEnrollmentToken counts one use of the token with this hash and
	// returns its name. A single-use token is used up by its first use.
	// ErrNotFound when the token is unknown, revoked, expired or used up.
	UseEnrollmentToken(ctx context.Context, hash []byte, now time.Time) (string, error)
}

// Operations is what operators, webhooks and retention need from a store.
type Operations interface {
	AdminTokens
	Audit
	DeviceAdmin
	Retention
	RelyingParties
	Outbox
	EnrollmentTokens
}
