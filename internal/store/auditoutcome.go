package store

import "context"

// AuditOutcomes records what became of an audited action. The record is
// written before the action (no audit record, no action) with the
// outcome AuditPending, and its outcome set once the action is done.
type AuditOutcomes interface {
	// StartAudit appends e and returns its id.
	StartAudit(ctx context.Context, e AuditEntry) (int64, error)
	// SetAuditOutcome sets the outcome of entry id.
	SetAuditOutcome(ctx context.Context, id int64, outcome string) error
}

// AuditPending is the outcome of an action that has not finished (or
// whose process ended before it could say).
const AuditPending = "pending"
