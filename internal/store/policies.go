package store

import (
	"context"
	"time"
)

// StoredPolicy is one version of a policy as the store keeps it.
type StoredPolicy struct {
	ID      string // the policy file's id
	Version int    // its version
	// Body is the policy file in canonical JSON: two files that say the
	// same thing have the same Body.
	Body      []byte
	CreatedAt time.Time
}

// PolicyActivation is one change of the active policy.
type PolicyActivation struct {
	Seq         int64 // increases with every activation
	ID          string
	Version     int
	ActivatedAt time.Time
	Actor       string // who made it active: an admin token's name, cli:<user>, serve
}

// Policies keeps policy versions (id@version) and which one is active.
type Policies interface {
	// ActivatePolicy stores p when its id@version is new and makes it the
	// active policy, recorded as done by actor at at. When id@version is
	// stored with another body it is ErrConflict and nothing changes;
	// when it is the active policy already, nothing changes and changed
	// is false. Concurrent calls are serialised.
	ActivatePolicy(ctx context.Context, p StoredPolicy, actor string, at time.Time) (a PolicyActivation, changed bool, err error)
	// ActivePolicy returns the active policy and its activation;
	// ErrNotFound when none was ever activated.
	ActivePolicy(ctx context.Context) (StoredPolicy, PolicyActivation, error)
	// PolicyVersion is the Seq of the latest activation, 0 when none: a
	// cheap question each node asks often to learn of a change.
	PolicyVersion(ctx context.Context) (int64, error)
	// PolicyHistory lists activations, newest first, at most limit.
	PolicyHistory(ctx context.Context, limit int) ([]PolicyActivation, error)
}
