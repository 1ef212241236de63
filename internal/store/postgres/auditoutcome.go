package postgres

import (
	"context"
	"fmt"

	"github.com/herd-health/herd/internal/store"
)

var _ store.AuditOutcomes = (*Store)(nil)

// StartAudit appends e and returns its id.
func (s *Store) StartAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, `INSERT INTO audit_log (at, actor, action, target, source_ip, outcome) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		e.At, e.Actor, e.Action, e.Target, e.SourceIP, e.Outcome).Scan(&id); err != nil {
		return 0, fmt.Errorf("postgres: append audit: %w", err)
	}
	return id, nil
}

// SetAuditOutcome sets the outcome of entry id.
func (s *Store) SetAuditOutcome(ctx context.Context, id int64, outcome string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE audit_log SET outcome = $1 WHERE id = $2`, outcome, id)
	return affected(tag, err, fmt.Sprintf("audit entry %d", id))
}
